package peertest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Capture records the TCP traffic to and from port on the loopback interface
// with dumpcap, tshark's capture engine, for debugging interop. It returns
// once packets are seen to reach the file. stop ends the capture and returns
// the bytes of the file, in the classic libpcap format that `tshark -r`
// reads; a test can save them for a failing case. A capture the test does
// not stop is stopped by its cleanup.
//
// The Linux packet ring hands packets to dumpcap in blocks, so a capture
// stopped right after the traffic would lose its tail. Capture therefore
// brackets the traffic with two UDP datagrams to a loopback port of its own,
// each carrying a random token, and waits for each token to be in the file:
// the file holds those two datagrams besides the TCP traffic of port (a
// tshark display filter "tcp" leaves them out).
//
// It calls [Require] for dumpcap and calls t.Fatal if the capture does not
// start, so it must be called from the test's goroutine.
func Capture(t testing.TB, port int) (stop func() []byte) {
	t.Helper()
	Require(t, "dumpcap")
	marker, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("peertest: capture marker: %v", err)
	}
	markerPort := marker.LocalAddr().(*net.UDPAddr).Port
	path := filepath.Join(t.TempDir(), fmt.Sprintf("port%d.pcap", port))
	filter := fmt.Sprintf("tcp port %d or (udp dst port %d)", port, markerPort)
	cmd := exec.Command("dumpcap", "-q", "-P", "-i", "lo", "-f", filter, "-w", path)
	setParentDeath(cmd)
	var log lockedBuffer
	cmd.Stdout = &log
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		marker.Close()
		t.Fatalf("peertest: start dumpcap: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()

	// mark sends a token to the marker port until dumpcap has written it,
	// dumpcap exits, or DefaultTimeout passes. Resending covers a datagram
	// sent before the interface was open.
	mark := func() error {
		token := make([]byte, 16)
		_, _ = rand.Read(token)
		token = []byte(fmt.Sprintf("peertest-marker-%x", token))
		deadline := time.Now().Add(DefaultTimeout)
		for next := time.Now(); ; {
			if !time.Now().Before(next) {
				if _, err := marker.WriteTo(token, marker.LocalAddr()); err != nil {
					return err
				}
				next = time.Now().Add(time.Second)
			}
			if b, _ := os.ReadFile(path); bytes.Contains(b, token) {
				return nil
			}
			select {
			case <-exited:
				return fmt.Errorf("dumpcap exited: %v", waitErr)
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("marker not captured within %v", DefaultTimeout)
			}
		}
	}

	var once sync.Once
	var data []byte
	stop = func() []byte {
		once.Do(func() {
			defer marker.Close()
			select {
			case <-exited:
			default:
				if err := mark(); err != nil {
					t.Logf("peertest: end of capture: %v", err)
				}
				_ = cmd.Process.Signal(syscall.SIGINT)
				select {
				case <-exited:
				case <-time.After(DefaultTimeout):
					_ = cmd.Process.Kill()
					<-exited
				}
			}
			var err error
			data, err = os.ReadFile(path)
			if err != nil {
				t.Logf("peertest: dumpcap (%v): %v\n%s", waitErr, err, log.String())
			}
		})
		return data
	}
	t.Cleanup(func() { stop() })

	if err := mark(); err != nil {
		stop()
		t.Fatalf("peertest: start of capture: %v\n%s", err, log.String())
	}
	return stop
}
