package main

// Measured processes are started through a launcher ("archivist-bench spawn -- PROG ARGS"), a
// fresh small process that starts PROG as its own child and reports PROG's pid and, once it
// exited, PROG's resource usage. The detour is what makes getrusage's maxrss an outside
// measure of PROG alone: Go starts children with vfork semantics, and Linux's execve
// records the high-water mark of the memory the child shared until then, the parent's, in
// the child's ru_maxrss. A child of the bench would report the bench's own peak (with its
// in-process sandbox); a child of the launcher reports at most the launcher's few MB.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// usage is PROG's resource usage as the launcher reports it.
type usage struct {
	Pid      int     `json:"pid"`
	CPU      float64 `json:"cpuSeconds"` // user + system
	MaxRSS   int64   `json:"maxRss"`     // bytes, from wait4's rusage
	ExitCode int     `json:"exitCode"`
}

// spawnCommand is the launcher. Its fd 3 is the report pipe: one JSON line with PROG's pid
// once it started, one with its usage once it exited. SIGTERM and SIGINT are passed on;
// PROG dies with the launcher (PDEATHSIG), so a killed bench leaves nothing behind.
func spawnCommand(args []string) error {
	if len(args) < 2 || args[0] != "--" {
		return errors.New("usage: spawn -- PROG [ARGS...]")
	}
	report := os.NewFile(3, "report")
	cmd := exec.Command(args[1], args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	if err := cmd.Start(); err != nil {
		return err
	}
	enc := json.NewEncoder(report)
	if err := enc.Encode(usage{Pid: cmd.Process.Pid}); err != nil {
		return err
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s) // it may have exited already
		}
	}()
	err := cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return err
	}
	u := usage{Pid: cmd.Process.Pid, ExitCode: cmd.ProcessState.ExitCode()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		u.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		u.MaxRSS = ru.Maxrss << 10
	}
	return enc.Encode(u)
}

// spawned is a process started through the launcher.
type spawned struct {
	cmd    *exec.Cmd // the launcher
	pid    int       // PROG's pid: signals and /proc go here
	report *json.Decoder
	done   chan struct{}
	usage  usage // once done is closed
	err    error // the launcher's exit, once done is closed
}

// newSpawn prepares the launcher for argv; the caller sets up its stdio, then calls start.
func newSpawn(argv ...string) *exec.Cmd {
	return exec.Command(launcher, append([]string{"spawn", "--"}, argv...)...)
}

// launcher is this program, which runs the launcher; set by main.
var launcher string

// start starts cmd (made by newSpawn) and waits for PROG's pid.
func start(cmd *exec.Cmd) (*spawned, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{w}
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return nil, err
	}
	s := &spawned{cmd: cmd, report: json.NewDecoder(r), done: make(chan struct{})}
	var first usage
	if err := s.report.Decode(&first); err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("launcher: no pid (%v; %v)", err, cmd.Wait())
	}
	s.pid = first.Pid
	go func() {
		defer r.Close()
		s.err = cmd.Wait()
		if err := s.report.Decode(&s.usage); err != nil && s.err == nil {
			s.err = fmt.Errorf("launcher: no usage: %w", err)
		}
		close(s.done)
	}()
	return s, nil
}
