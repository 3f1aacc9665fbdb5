package pdu

import (
	"bytes"
	"errors"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestWriterTCPBatches sends batches of PDUs over TCP with Queue and
// Flush while the other end reads slowly, so that writes stop half way
// and wait for room: batches of one PDU, of 40, and one of 1,500 PDUs
// whose slices are more than one writev(2) takes (maxIovecs). The bytes
// that arrive are exactly the PDUs' encoding.
func TestWriterTCPBatches(t *testing.T) {
	for _, d := range allDigests {
		want := mixedPDUs(1500, 8<<10)
		wire := encodeAll(t, want, d)
		c, s := tcpPair(t)
		w := NewWriter(c)
		if runtime.GOOS == "linux" && w.vw == nil {
			t.Fatal("no raw writev on a *net.TCPConn")
		}
		w.SetDigests(d)
		got := make(chan []byte, 1)
		go func() {
			var b bytes.Buffer
			buf := make([]byte, 3000)
			for i := 0; ; i++ {
				n, err := s.Read(buf)
				b.Write(buf[:n])
				if err != nil {
					break
				}
				if i%50 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			got <- b.Bytes()
		}()
		batches := []int{1, 40, 1459}
		i := 0
		for _, n := range batches {
			for range n {
				if err := w.Queue(&want[i].Header, want[i].AHS, want[i].Data); err != nil {
					t.Fatalf("%+v: Queue %d: %v", d, i, err)
				}
				i++
			}
			if err := w.Flush(); err != nil {
				t.Fatalf("%+v: Flush of %d PDUs: %v", d, n, err)
			}
			if w.Queued() != 0 {
				t.Fatalf("%+v: %d bytes queued after Flush", d, w.Queued())
			}
		}
		c.CloseWrite()
		if b := <-got; !bytes.Equal(b, wire) {
			t.Fatalf("%+v: %d bytes arrived, want the %d of the encoding (equal: %v)", d, len(b), len(wire), bytes.Equal(b, wire))
		}
	}
}

// TestWriterTCPErrors: a Flush that cannot finish before the connection's
// write deadline returns os.ErrDeadlineExceeded, and one on a closed
// connection net.ErrClosed, as net.Conn's Write does.
func TestWriterTCPErrors(t *testing.T) {
	c, _ := tcpPair(t)
	w := NewWriter(c)
	var p PDU
	p.Header.DataIn().Init()
	p.Data = make([]byte, 1<<20)
	// Nobody reads: 64 MiB cannot fit in the sockets' buffers.
	for range 64 {
		if err := w.Queue(&p.Header, nil, p.Data); err != nil {
			t.Fatal(err)
		}
	}
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	if err := w.Flush(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Flush past the deadline = %v, want os.ErrDeadlineExceeded", err)
	}
	c.Close()
	if err := w.Write(&p.Header, nil, p.Data[:512]); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write on a closed connection = %v, want net.ErrClosed", err)
	}
}
