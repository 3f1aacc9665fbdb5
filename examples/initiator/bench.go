package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-iscsi/iscsi/scsi"
	"github.com/go-iscsi/iscsi/session"
)

// cmdBench keeps -qd READs or WRITEs of -bs bytes in flight for -t and
// prints the IOPS and MB/s (MiB per second) each second and on average, in
// the words of libiscsi's iscsi-perf. Writes destroy data and need
// -dataloss. It runs on -procs processors, 1 unless told otherwise, as
// iscsi-perf runs one event loop; -cpuprofile writes a CPU profile of the
// run. At the end of -t it stops issuing and waits for the commands in
// flight, as iscsi-perf does.
func cmdBench(ctx context.Context, e *env, args []string) (err error) {
	const usage = "bench URL [-rw read|write|randread|randwrite] [-bs BYTES] [-qd N] [-t DURATION] [-procs N] [-dataloss]"
	fset := flag.NewFlagSet("bench", flag.ContinueOnError)
	rw := fset.String("rw", "read", "read, write, randread or randwrite")
	bs := fset.Int("bs", 4096, "bytes per command, whole blocks")
	qd := fset.Int("qd", 32, "commands in flight")
	dur := fset.Duration("t", 10*time.Second, "how long to run")
	dataloss := fset.Bool("dataloss", false, "allow writes, which destroy the unit's data")
	procs := fset.Int("procs", 1, "Go processors (GOMAXPROCS) to run on; 0 leaves the runtime's own")
	cpuprofile := fset.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	pos, err := parseFlags(fset, args, 1, usage)
	if err != nil {
		return err
	}
	var write, random bool
	switch *rw {
	case "read":
	case "randread":
		random = true
	case "write":
		write = true
	case "randwrite":
		write, random = true, true
	default:
		return usagef("bench: -rw %q: want read, write, randread or randwrite", *rw)
	}
	if write && !*dataloss {
		return usagef("bench: -rw %s destroys data: add -dataloss", *rw)
	}
	if *qd < 1 || *qd > 1024 {
		return usagef("bench: -qd %d: want 1 to 1024", *qd)
	}
	if *dur <= 0 {
		return usagef("bench: -t %v: want a positive duration", *dur)
	}
	if *procs < 0 {
		return usagef("bench: -procs %d: want 0 or more", *procs)
	}
	if *procs > 0 {
		// The goroutines of a run wait on one socket. On one processor
		// they take turns as an event loop does: a completion readies
		// its caller on the processor the read loop runs on, without
		// waking a second thread for it. Against tgtd on 2 cores this
		// halved the context switches per command (perf stat: 1.36 to
		// 0.70) and cut the initiator's CPU per command by a quarter.
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(*procs))
	}
	u, err := parseLUNURL(pos[0])
	if err != nil {
		return err
	}
	l, err := e.open(ctx, u)
	if err != nil {
		return err
	}
	defer closeWith(l, &err)
	rc, err := session.ReadCapacity(ctx, l.x, l.lun)
	if err != nil {
		return err
	}
	blockLen := int(rc.BlockLength)
	if *bs <= 0 || *bs%blockLen != 0 {
		return usagef("bench: -bs %d: want a multiple of the block length %d", *bs, blockLen)
	}
	per := uint64(*bs / blockLen)
	slots := (rc.LastLBA + 1) / per
	if slots == 0 {
		return usagef("bench: -bs %d exceeds the capacity", *bs)
	}
	mode := map[bool]string{false: "SEQUENTIAL", true: "RANDOM"}[random] + map[bool]string{false: " READ", true: " WRITE"}[write]
	fmt.Fprintf(e.stdout, "capacity is %d blocks or %d byte (%d MB)\n", rc.LastLBA+1, (rc.LastLBA+1)*uint64(blockLen), (rc.LastLBA+1)*uint64(blockLen)>>20)
	fmt.Fprintf(e.stdout, "performing %s with %d parallel requests\n", mode, *qd)
	fmt.Fprintf(e.stdout, "FIXED transfer size of %d blocks (%d byte)\n", per, *bs)
	fmt.Fprintf(e.stdout, "will run for %v.\n\n", *dur)

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	bctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	var ops, next atomic.Uint64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := range *qd {
		rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
		wg.Go(func() {
			// One Command, CDB and Response per goroutine, reused: a
			// command allocates nothing (session.ExecuteInto).
			buf := make([]byte, *bs)
			var cdb [16]byte
			cmd := session.Command{LUN: l.lun}
			if write {
				cmd.DataOut = buf
			} else {
				cmd.DataIn = buf
			}
			var resp session.Response
			for bctx.Err() == nil {
				var slot uint64
				if random {
					slot = rng.Uint64N(slots)
				} else {
					slot = (next.Add(1) - 1) % slots
				}
				rw := scsi.NewReadWrite(write, slot*per, uint32(per))
				var err error
				if cmd.CDB, err = rw.Append(cdb[:0]); err == nil {
					// The command runs under ctx, not bctx: at the end
					// of the run it completes instead of being aborted
					// (ABORT TASK, RFC 7143 §11.5.1) as a cancelled
					// command would be.
					err = l.s.ExecuteInto(ctx, &cmd, &resp)
				}
				switch {
				case err != nil:
				case resp.Status != scsi.StatusGood:
					err = &session.StatusError{Op: rw.Op, Status: resp.Status, Sense: resp.Sense}
				case !write && resp.DataInLength < len(buf):
					err = fmt.Errorf("READ of %d bytes at LBA %d: %d bytes came: %w", len(buf), slot*per, resp.DataInLength, session.ErrShortTransfer)
				}
				if err != nil {
					if ctx.Err() == nil {
						errOnce.Do(func() { firstErr = err; cancel() })
					}
					return
				}
				ops.Add(1)
			}
		})
	}
	tick := time.NewTicker(time.Second)
	last, lastAt := uint64(0), start
	mbs := func(n uint64, d time.Duration) uint64 {
		return uint64(float64(n) * float64(*bs) / d.Seconds() / (1 << 20))
	}
	iops := func(n uint64, d time.Duration) uint64 { return uint64(float64(n) / d.Seconds()) }
loop:
	for {
		select {
		case <-bctx.Done():
			break loop
		case now := <-tick.C:
			n := ops.Load()
			el := now.Sub(start)
			fmt.Fprintf(e.stdout, "%02d:%02d:%02d - iops current %d (%d MB/s), iops average %d (%d MB/s)\n",
				int(el.Hours()), int(el.Minutes())%60, int(el.Seconds())%60,
				iops(n-last, now.Sub(lastAt)), mbs(n-last, now.Sub(lastAt)), iops(n, el), mbs(n, el))
			last, lastAt = n, now
		}
	}
	tick.Stop()
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	el := time.Since(start)
	n := ops.Load()
	fmt.Fprintf(e.stdout, "\niops average %d (%d MB/s)\nfinished.\n", iops(n, el), mbs(n, el))
	return nil
}
