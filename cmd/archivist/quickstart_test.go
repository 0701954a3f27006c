package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The quickstart as the README writes it: make run starts the sandbox and the daemon, the
// commands it prints work as printed (ARCHIVIST_CONFIG), a second make run refuses to start
// while the first holds the port, and Ctrl-C (SIGINT to make's process group, as a terminal
// sends it) stops everything make run started.
func TestQuickstartMakeRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs make run")
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:8787", time.Second); err == nil {
		c.Close()
		t.Skip("127.0.0.1:8787 is in use (a make run going?)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "-C", root, "--no-print-directory", "run")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // only if the test fails half way
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export ARCHIVIST_CONFIG="); ok {
				ready <- v
			}
		}
	}()
	var cfg string
	select {
	case cfg = <-ready:
	case <-time.After(3 * time.Minute):
		t.Fatal("make run did not print its commands")
	}
	var status []byte
	deadline := time.Now().Add(30 * time.Second)
	for { // the daemon opens its socket a moment after make run prints
		st := exec.Command(filepath.Join(root, "bin", "archivist"), "status")
		st.Env = append(os.Environ(), "ARCHIVIST_CONFIG="+cfg)
		if status, err = st.CombinedOutput(); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || !strings.Contains(string(status), "running since") {
		t.Fatalf("bin/archivist status with the printed ARCHIVIST_CONFIG: %v\n%s", err, status)
	}
	second, err := exec.Command("make", "-C", root, "--no-print-directory", "run").CombinedOutput()
	if err == nil || !strings.Contains(string(second), "already answers on 127.0.0.1:8787") {
		t.Errorf("a second make run: %v\n%s", err, second)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("make run did not end on Ctrl-C")
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:8787", time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the sandbox still answers on 127.0.0.1:8787 after Ctrl-C")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
