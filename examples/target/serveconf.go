package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/go-iscsi/iscsi/login"
	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/scsi/disk"
	"github.com/go-iscsi/iscsi/session"
)

// ietVendor and ietProduct are the INQUIRY identity IET gives its logical
// units, which udev rules written for IET match on.
const (
	ietVendor  = "IET"
	ietProduct = "VIRTUAL-DISK"
)

// defaultNullSize is the capacity of a Type=nullio logical unit without
// Size.
const defaultNullSize = 1 << 30

// servedConfig is a configuration file turned into what a session.Server
// serves.
type servedConfig struct {
	targets              []session.Target
	chap                 login.CHAPLookup
	discoveryAuthMethods []string
	limits               session.Limits
	// resized are the logical units kept from the previous configuration
	// whose capacity changed, for Server.CapacityChanged.
	resized []resizedLUN
	// used are the pool entries the configuration serves.
	used map[lunKey]bool
}

// resizedLUN names a LUN whose logical unit changed capacity on reload.
type resizedLUN struct {
	target string
	lun    scsi.LUN
}

// luPool holds the logical units opened for the configuration, across
// reloads: a Lun line that a reload leaves unchanged keeps its logical
// unit (and its data, for Type=memory). A Type=memory line whose Size
// changed keeps its logical unit too, resized, and so does a
// Type=fileio or blockio line without Size whose file or device changed
// length. A removed line's logical unit is closed once the Server has
// released it: the tasks sent to it have ended and the sessions that
// still reach it have ended.
type luPool struct {
	mu  sync.Mutex
	lus map[lunKey]*pooledLU
}

// lunKey identifies a Lun line by its target and everything it sets, but
// the Size of a Type=memory line.
type lunKey struct {
	target, vendor, product string
	lun                     lunConfig
}

type pooledLU struct {
	lu    *disk.LU
	close func()
	// The backend, to resize: mem for Type=memory, file for fileio and
	// blockio without Size.
	mem  *disk.Memory
	file *disk.File
}

// close closes every logical unit the pool opened.
func (p *luPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, e := range p.lus {
		e.close()
		delete(p.lus, k)
	}
}

// retire takes the logical units sc does not serve out of the pool and
// closes each once srv has released it (session.Server.Released).
func (p *luPool) retire(sc *servedConfig, srv *session.Server, log *slog.Logger) {
	p.mu.Lock()
	defer p.mu.Unlock()
	closed := unitClosed
	for k, e := range p.lus {
		if sc.used[k] {
			continue
		}
		delete(p.lus, k)
		released := srv.Released(e.lu)
		go func() {
			<-released
			e.close()
			log.Info("logical unit closed", "target", k.target, "lun", k.lun.Number)
			if closed != nil {
				closed(k.target, k.lun.Number)
			}
		}()
	}
}

// loadConfig reads and parses the configuration file at path and opens
// every logical unit it names. Either every logical unit opens or none
// stays open: any error closes what was opened. Warnings go to log.
func loadConfig(path string, pool *luPool, log *slog.Logger) (*servedConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &ConfigError{File: path, Err: err}
	}
	defer f.Close()
	fc, err := parseConfig(path, f)
	if err != nil {
		return nil, err
	}
	sc, err := buildConfig(fc, pool)
	if err != nil {
		return nil, err
	}
	for _, w := range fc.Warnings {
		log.Warn("configuration value not honoured", "file", path, "line", w.Line, "key", w.Key, "reason", w.Msg)
	}
	return sc, nil
}

// buildConfig opens the logical units of fc.
func buildConfig(fc *fileConfig, pool *luPool) (sc *servedConfig, err error) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if pool.lus == nil {
		pool.lus = make(map[lunKey]*pooledLU)
	}
	var opened []lunKey
	defer func() {
		if err != nil {
			for _, k := range opened {
				pool.lus[k].close()
				delete(pool.lus, k)
			}
		}
	}()
	sc = &servedConfig{used: map[lunKey]bool{}}
	// Resizes wait until every Lun line has opened, so that a refused
	// reload changes nothing.
	var resizes []func()
	accounts := map[string]*targetConfig{}
	for _, tc := range fc.Targets {
		if err := tc.Settings.Validate(); err != nil {
			return nil, &ConfigError{File: fc.File, Line: tc.Line, Key: "Target", Err: err}
		}
		st := tc.Settings
		t := session.Target{
			Name:     tc.Name,
			Alias:    tc.Alias,
			LUNs:     make(map[scsi.LUN]session.LogicalUnit, len(tc.LUNs)),
			Settings: &st,
		}
		if len(tc.IncomingUsers) > 0 {
			t.AuthMethods = []string{"CHAP"}
		}
		accounts[tc.Name] = tc
		for _, lc := range tc.LUNs {
			k := lunKey{target: tc.Name, vendor: tc.Vendor, product: tc.Product, lun: *lc}
			k.lun.Line = 0
			if lc.Type == "memory" {
				k.lun.Size = 0
			}
			lun, err := scsi.EncodeLUN(lc.Number)
			if err != nil {
				return nil, &ConfigError{File: fc.File, Line: lc.Line, Key: "Lun", Err: err}
			}
			e, ok := pool.lus[k]
			if !ok {
				e, err = openConfigLU(fc.File, tc, lc)
				if err != nil {
					return nil, err
				}
				pool.lus[k] = e
				opened = append(opened, k)
			} else if resize, err := resizeFor(fc.File, lc, e); err != nil {
				return nil, err
			} else if resize != nil {
				resizes = append(resizes, resize)
				sc.resized = append(sc.resized, resizedLUN{tc.Name, lun})
			}
			sc.used[k] = true
			t.LUNs[lun] = e.lu
		}
		sc.targets = append(sc.targets, t)
	}
	if len(fc.IncomingUsers) > 0 {
		sc.discoveryAuthMethods = []string{"CHAP"}
	}
	sc.chap = func(initiatorName, targetName, user string) (string, *login.CHAPCredentials, bool) {
		in, out := fc.IncomingUsers, fc.OutgoingUser
		if targetName != "" {
			tc := accounts[targetName]
			if tc == nil {
				return "", nil, false
			}
			in, out = tc.IncomingUsers, tc.OutgoingUser
		}
		for _, a := range in {
			if a.User == user {
				var mutual *login.CHAPCredentials
				if out != nil {
					mutual = &login.CHAPCredentials{User: out.User, Secret: out.Secret}
				}
				return a.Secret, mutual, true
			}
		}
		return "", nil, false
	}
	sc.limits = session.Limits{
		CmdSNWindow:   fc.QueuedCommands,
		NOPInInterval: fc.NOPInterval,
		NOPInTimeout:  fc.NOPTimeout,
	}
	for _, resize := range resizes {
		resize()
	}
	return sc, nil
}

// resizeFor returns the resize that a kept logical unit needs for its
// Lun line lc, or nil when its capacity is unchanged (the caller reports
// the change with Server.CapacityChanged): a Type=memory line
// with another Size, or a fileio or blockio line without Size whose file
// or device now has another length. A length that is not a positive
// multiple of the block size (SBC-4 §4.5) is an error naming the line.
func resizeFor(file string, lc *lunConfig, e *pooledLU) (func(), error) {
	bs := int64(e.lu.BlockSize())
	bad := func(size int64) error {
		return &ConfigError{File: file, Line: lc.Line, Key: "Size",
			Err: fmt.Errorf("%d bytes is not a positive multiple of the block size %d", size, bs)}
	}
	switch {
	case e.mem != nil:
		if lc.Size == e.mem.Size() {
			return nil, nil
		}
		if lc.Size <= 0 || lc.Size%bs != 0 {
			return nil, bad(lc.Size)
		}
		return func() { e.mem.Resize(lc.Size) }, nil
	case e.file != nil:
		size, err := currentSize(lc)
		if err != nil {
			return nil, &ConfigError{File: file, Line: lc.Line, Key: "Path", Err: err}
		}
		if size == e.file.Size() {
			return nil, nil
		}
		if size <= 0 || size%bs != 0 {
			return nil, bad(size)
		}
		// disk.File.Resize re-reads a block device's size and truncates
		// a regular file to its own length: neither writes data.
		return func() { e.file.Resize(size) }, nil
	}
	return nil, nil
}

// currentSize returns the length of the file or block device of lc now.
func currentSize(lc *lunConfig) (int64, error) {
	f, err := os.Open(lc.Path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		return fi.Size(), nil
	}
	return f.Seek(0, io.SeekEnd)
}

// openConfigLU opens the logical unit of one Lun line. It identifies
// itself as IET's do: vendor IET, product VIRTUAL-DISK, ScsiSN as the
// unit serial number (VPD page 80h) and ScsiId in the Device
// Identification page (VPD page 83h), unless Vendor or Product say
// otherwise.
func openConfigLU(file string, tc *targetConfig, lc *lunConfig) (*pooledLU, error) {
	lerr := func(key string, err error) error {
		return &ConfigError{File: file, Line: lc.Line, Key: key, Err: err}
	}
	var be disk.Backend
	closeBE := func() {}
	e := &pooledLU{}
	readOnly := lc.IOMode == "ro"
	switch lc.Type {
	case "memory":
		e.mem = disk.NewMemory(lc.Size)
		be = e.mem
	case "nullio":
		size := lc.Size
		if size == 0 {
			size = defaultNullSize
		}
		be = nullBackend(size)
	case "fileio", "blockio":
		fi, err := os.Stat(lc.Path)
		if err != nil {
			return nil, lerr("Path", err)
		}
		if lc.Type == "blockio" && fi.Mode()&os.ModeDevice == 0 {
			return nil, lerr("Path", fmt.Errorf("%s is not a block device (Type=blockio)", lc.Path))
		}
		if lc.Type == "fileio" && !fi.Mode().IsRegular() && fi.Mode()&os.ModeDevice == 0 {
			return nil, lerr("Path", fmt.Errorf("%s is neither a regular file nor a device", lc.Path))
		}
		f, err := disk.OpenFile(lc.Path, disk.FileOptions{ReadOnly: readOnly, Size: lc.Size})
		if err != nil {
			return nil, lerr("Path", err)
		}
		if f.Size() == 0 {
			f.Close()
			return nil, lerr("Path", fmt.Errorf("%s is empty", lc.Path))
		}
		be = f
		closeBE = sync.OnceFunc(func() { f.Close() })
		if lc.Size == 0 {
			e.file = f
		}
	}
	vendor, product := ietVendor, ietProduct
	if tc.Vendor != "" {
		vendor = tc.Vendor
	}
	if tc.Product != "" {
		product = tc.Product
	}
	if lc.Vendor != "" {
		vendor = lc.Vendor
	}
	if lc.Product != "" {
		product = lc.Product
	}
	_, thin := be.(disk.Deallocator)
	lu, err := disk.New(be, disk.Config{
		BlockSize:          lc.BlockSize,
		PhysicalBlockSize:  lc.PhysicalBlockSize,
		Vendor:             vendor,
		Product:            product,
		SerialNumber:       lc.ScsiSN,
		DeviceID:           lc.ScsiID,
		ReadOnly:           readOnly,
		WriteCacheDisabled: lc.IOMode == "wt",
		ThinProvisioning:   thin,
	})
	if err != nil {
		closeBE()
		var ce *disk.ConfigError
		if errors.As(err, &ce) {
			return nil, lerr(ce.Field, err)
		}
		return nil, lerr("Lun", err)
	}
	e.lu, e.close = lu, closeBE
	return e, nil
}

// nullBackend is IET's nullio: a medium of the given size that reads as
// zeros and discards what is written to it.
type nullBackend int64

func (n nullBackend) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	return len(p), nil
}

func (n nullBackend) WriteAt(p []byte, off int64) (int, error) { return len(p), nil }

func (n nullBackend) Size() int64 { return int64(n) }
