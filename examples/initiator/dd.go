package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/go-iscsi/iscsi/session"
)

// endpoint is one side of a dd: a logical unit or a file (offsets), or a
// standard stream (sequential only).
type endpoint struct {
	ra    io.ReaderAt
	wa    io.WriterAt
	r     io.Reader
	w     io.Writer
	dev   *session.BlockDevice
	file  *os.File
	close func() error
}

func (e *env) openEndpoint(ctx context.Context, name string, write bool, seek int64) (*endpoint, error) {
	switch {
	case name == "-" && write:
		return &endpoint{w: e.stdout, close: func() error { return nil }}, nil
	case name == "-":
		return &endpoint{r: e.stdin, close: func() error { return nil }}, nil
	case isURL(name):
		u, err := parseLUNURL(name)
		if err != nil {
			return nil, err
		}
		l, err := e.open(ctx, u)
		if err != nil {
			return nil, err
		}
		d, err := session.NewBlockDevice(ctx, l.x, l.lun)
		if err != nil {
			l.Close()
			return nil, err
		}
		c := ctxDevice{ctx, d}
		return &endpoint{ra: c, wa: c, dev: d, close: l.Close}, nil
	case write:
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		// As dd without conv=notrunc: a regular file ends where the
		// copy ends; -seek keeps the bytes before it.
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			if err := f.Truncate(seek); err != nil {
				f.Close()
				return nil, err
			}
		}
		return &endpoint{wa: f, file: f, close: f.Close}, nil
	default:
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		return &endpoint{ra: f, file: f, close: f.Close}, nil
	}
}

// ctxDevice reads and writes a BlockDevice under ctx.
type ctxDevice struct {
	ctx context.Context
	d   *session.BlockDevice
}

func (c ctxDevice) ReadAt(p []byte, off int64) (int, error) { return c.d.ReadAtContext(c.ctx, p, off) }
func (c ctxDevice) WriteAt(p []byte, off int64) (int, error) {
	return c.d.WriteAtContext(c.ctx, p, off)
}

// cmdDD copies -count bytes (all by default) from -if at byte -skip to -of
// at byte -seek, -bs bytes at a time; either side is a file, "-" for a
// standard stream, or an iSCSI URL. A logical unit written to is
// synchronized (SYNCHRONIZE CACHE) at the end.
func cmdDD(ctx context.Context, e *env, args []string) (err error) {
	const usage = "dd -if SRC -of DST [-bs BYTES] [-count BYTES] [-skip BYTES] [-seek BYTES]"
	fset := flag.NewFlagSet("dd", flag.ContinueOnError)
	src := fset.String("if", "", "input: a file, - for standard input, or an iSCSI URL")
	dst := fset.String("of", "", "output: a file, - for standard output, or an iSCSI URL")
	bs := fset.Int("bs", 1<<20, "bytes copied at a time")
	count := fset.Int64("count", -1, "bytes to copy; -1 copies to the end of the input")
	skip := fset.Int64("skip", 0, "bytes of the input skipped")
	seek := fset.Int64("seek", 0, "bytes of the output skipped")
	if _, err := parseFlags(fset, args, 0, usage); err != nil {
		return err
	}
	switch {
	case *src == "" || *dst == "":
		return usagef("dd: -if and -of are required (usage: %s)", usage)
	case *bs <= 0 || *bs > 64<<20:
		return usagef("dd: -bs %d: want 1 to 64 MiB", *bs)
	case *count < -1:
		return usagef("dd: -count %d: want -1 or more", *count)
	case *skip < 0 || *seek < 0:
		return usagef("dd: -skip and -seek must not be negative")
	case *dst == "-" && *seek != 0:
		return usagef("dd: -seek needs a file or a URL as -of")
	}
	in, err := e.openEndpoint(ctx, *src, false, 0)
	if err != nil {
		return fmt.Errorf("-if: %w", err)
	}
	defer func() {
		if cerr := in.close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	out, err := e.openEndpoint(ctx, *dst, true, *seek)
	if err != nil {
		return fmt.Errorf("-of: %w", err)
	}
	defer func() {
		if cerr := out.close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if in.r != nil && *skip > 0 {
		if _, err := io.CopyN(io.Discard, in.r, *skip); err != nil {
			return fmt.Errorf("-skip %d: %w", *skip, err)
		}
	}
	buf := make([]byte, *bs)
	var done int64
	for *count < 0 || done < *count {
		p := buf
		if *count >= 0 && *count-done < int64(len(p)) {
			p = p[:*count-done]
		}
		var n int
		var rerr error
		if in.ra != nil {
			n, rerr = in.ra.ReadAt(p, *skip+done)
		} else {
			n, rerr = io.ReadFull(in.r, p)
		}
		if n > 0 {
			var werr error
			if out.wa != nil {
				_, werr = out.wa.WriteAt(p[:n], *seek+done)
			} else {
				_, werr = out.w.Write(p[:n])
			}
			if werr != nil {
				return fmt.Errorf("-of at byte %d: %w", *seek+done, werr)
			}
			done += int64(n)
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return fmt.Errorf("-if at byte %d: %w", *skip+done, rerr)
		}
	}
	if *count >= 0 && done < *count {
		return fmt.Errorf("-if ended after %d of the %d bytes of -count", done, *count)
	}
	if out.dev != nil {
		return out.dev.SyncContext(ctx)
	}
	if out.file != nil {
		return out.file.Sync()
	}
	return nil
}
