package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-iscsi/iscsi/session"
)

// cmdBench keeps -qd READs or WRITEs of -bs bytes in flight for -t and
// prints the IOPS and MB/s (MiB per second) each second and on average, in
// the words of libiscsi's iscsi-perf. Writes destroy data and need
// -dataloss.
func cmdBench(ctx context.Context, e *env, args []string) (err error) {
	const usage = "bench URL [-rw read|write|randread|randwrite] [-bs BYTES] [-qd N] [-t DURATION] [-dataloss]"
	fset := flag.NewFlagSet("bench", flag.ContinueOnError)
	rw := fset.String("rw", "read", "read, write, randread or randwrite")
	bs := fset.Int("bs", 4096, "bytes per command, whole blocks")
	qd := fset.Int("qd", 32, "commands in flight")
	dur := fset.Duration("t", 10*time.Second, "how long to run")
	dataloss := fset.Bool("dataloss", false, "allow writes, which destroy the unit's data")
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
			buf := make([]byte, *bs)
			for bctx.Err() == nil {
				var slot uint64
				if random {
					slot = rng.Uint64N(slots)
				} else {
					slot = (next.Add(1) - 1) % slots
				}
				var err error
				if write {
					err = session.Write(bctx, l.s, l.lun, slot*per, rc.BlockLength, buf)
				} else {
					err = session.Read(bctx, l.s, l.lun, slot*per, rc.BlockLength, buf)
				}
				if err != nil {
					if bctx.Err() == nil {
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
