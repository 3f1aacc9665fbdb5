package main

import (
	"errors"
	"fmt"
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
}

// luPool holds the logical units opened for the configuration, across
// reloads: a Lun line that a reload leaves unchanged keeps its logical
// unit (and its data, for Type=memory), and a removed one stays open for
// the sessions still using it until the target stops.
type luPool struct {
	mu  sync.Mutex
	lus map[lunKey]pooledLU
}

// lunKey identifies a Lun line by its target and everything it sets.
type lunKey struct {
	target, vendor, product string
	lun                     lunConfig
}

type pooledLU struct {
	lu    *disk.LU
	close func()
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
		pool.lus = make(map[lunKey]pooledLU)
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
	sc = &servedConfig{}
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
			e, ok := pool.lus[k]
			if !ok {
				lu, closeLU, err := openConfigLU(fc.File, tc, lc)
				if err != nil {
					return nil, err
				}
				e = pooledLU{lu, closeLU}
				pool.lus[k] = e
				opened = append(opened, k)
			}
			lu := e.lu
			lun, err := scsi.EncodeLUN(lc.Number)
			if err != nil {
				return nil, &ConfigError{File: fc.File, Line: lc.Line, Key: "Lun", Err: err}
			}
			t.LUNs[lun] = lu
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
	return sc, nil
}

// openConfigLU opens the logical unit of one Lun line. It identifies
// itself as IET's do: vendor IET, product VIRTUAL-DISK, ScsiSN as the
// unit serial number (VPD page 80h) and ScsiId in the Device
// Identification page (VPD page 83h), unless Vendor or Product say
// otherwise.
func openConfigLU(file string, tc *targetConfig, lc *lunConfig) (*disk.LU, func(), error) {
	lerr := func(key string, err error) error {
		return &ConfigError{File: file, Line: lc.Line, Key: key, Err: err}
	}
	var be disk.Backend
	closeBE := func() {}
	readOnly := lc.IOMode == "ro"
	switch lc.Type {
	case "memory":
		be = disk.NewMemory(lc.Size)
	case "nullio":
		size := lc.Size
		if size == 0 {
			size = defaultNullSize
		}
		be = nullBackend(size)
	case "fileio", "blockio":
		fi, err := os.Stat(lc.Path)
		if err != nil {
			return nil, nil, lerr("Path", err)
		}
		if lc.Type == "blockio" && fi.Mode()&os.ModeDevice == 0 {
			return nil, nil, lerr("Path", fmt.Errorf("%s is not a block device (Type=blockio)", lc.Path))
		}
		if lc.Type == "fileio" && !fi.Mode().IsRegular() && fi.Mode()&os.ModeDevice == 0 {
			return nil, nil, lerr("Path", fmt.Errorf("%s is neither a regular file nor a device", lc.Path))
		}
		f, err := disk.OpenFile(lc.Path, disk.FileOptions{ReadOnly: readOnly, Size: lc.Size})
		if err != nil {
			return nil, nil, lerr("Path", err)
		}
		if f.Size() == 0 {
			f.Close()
			return nil, nil, lerr("Path", fmt.Errorf("%s is empty", lc.Path))
		}
		be = f
		closeBE = func() { f.Close() }
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
			return nil, nil, lerr(ce.Field, err)
		}
		return nil, nil, lerr("Lun", err)
	}
	return lu, closeBE, nil
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
