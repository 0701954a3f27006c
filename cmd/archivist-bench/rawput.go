package main

// The baseline of the throughput workloads: PUT the same files to the same sandbox with
// nothing else (no hashing, journal, events or settle), through a keep-alive client with the
// daemon's concurrency and the daemon's transport settings. It runs as a child process of
// the bench ("archivist-bench raw-put ...") so that its peak RSS is taken from outside exactly
// as the daemon's is.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/archivist-project/archivist/archive/globalrelay"
)

// rawResult is what the raw-put child prints on stdout.
type rawResult struct {
	Files   int     `json:"files"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"` // from the first request to the last answer
	Cost    measure `json:"-"`       // VmHWM read by the parent before the child exits, then wait4's figures
	SinkCPU float64 `json:"-"`       // CPU seconds of the bench process (the sandbox) meanwhile
	// Requests is how many event requests the sandbox accepted (the floor's; raw posts none).
	Requests int `json:"-"`
}

// fetchToken asks the sandbox's token endpoint once, as the daemon's client does.
func fetchToken(baseURL string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"openid conversation file write"}}
	req, err := http.NewRequest(http.MethodPost, baseURL+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Basic "+benchCreds)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	defer resp.Body.Close()
	var v struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusOK || v.AccessToken == "" {
		return "", fmt.Errorf("token: %s (%v)", resp.Status, err)
	}
	return v.AccessToken, nil
}

// runRawPut starts the raw-put child (through the launcher) for every regular file under
// path and waits for it.
func runRawPut(self, baseURL, token, path string, concurrency int) (rawResult, error) {
	return runChild(self, "raw-put", "--url", baseURL+"/v2", "--token", token,
		"--concurrency", fmt.Sprint(concurrency), "--path", path)
}

// runChild starts "self name args..." (raw-put or floor-put) through the launcher and waits
// for it. The child prints its result, then waits for its stdin to close, so that its VmHWM
// is read from /proc while it still exists, the same way as the daemon's.
func runChild(self, name string, args ...string) (rawResult, error) {
	cmd := newSpawn(append([]string{self, name}, args...)...)
	cmd.Stderr = os.Stderr
	inR, inW, err := os.Pipe()
	if err != nil {
		return rawResult{}, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return rawResult{}, err
	}
	defer outR.Close()
	cmd.Stdin, cmd.Stdout = inR, outW
	p, err := start(cmd)
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		return rawResult{}, err
	}
	var res rawResult
	derr := json.NewDecoder(outR).Decode(&res)
	res.Cost.HWM = vmHWM(p.pid)
	inW.Close()
	<-p.done
	if derr != nil || p.err != nil || p.usage.ExitCode != 0 {
		return rawResult{}, fmt.Errorf("%s: %v (launcher %v, exit status %d)", name, derr, p.err, p.usage.ExitCode)
	}
	res.Cost.MaxRSS, res.Cost.CPU = p.usage.MaxRSS, p.usage.CPU
	return res, nil
}

// rawPutCommand is the child: it lists the files first, then times only the PUTs.
func rawPutCommand(args []string) error {
	fs := flag.NewFlagSet("archivist-bench raw-put", flag.ContinueOnError)
	base := fs.String("url", "", "API base URL (…/v2)")
	token := fs.String("token", "", "bearer token")
	concurrency := fs.Int("concurrency", 4, "PUTs in flight")
	path := fs.String("path", "", "a file, or a folder whose regular files are all sent")
	if err := fs.Parse(args); err != nil {
		return err
	}
	files, err := listFiles(*path)
	if err != nil {
		return err
	}
	client := globalrelay.NewHTTPClient(false, 2*time.Minute, *concurrency+2)
	ctx := context.Background()

	work := make(chan int)
	var sent atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range *concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				n, err := rawPut(ctx, client, *base, *token, i, files[i])
				if err != nil {
					once.Do(func() { firstErr = err })
					continue
				}
				sent.Add(n)
			}
		}()
	}
	for i := range files {
		work <- i
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return firstErr
	}
	return reportAndWait(rawResult{Files: len(files), Bytes: sent.Load(), Seconds: elapsed.Seconds()})
}

// rawPut streams one file under a key of the daemon's shape (default/<watch>/<64 hex>/<name>),
// so that the sandbox does the same directory work for both; the hex is the file's index.
func rawPut(ctx context.Context, client *http.Client, base, token string, i int, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	key := fmt.Sprintf("default/raw/%064x/%s", i, filepath.Base(path))
	var body io.Reader = f
	if fi.Size() == 0 {
		body = http.NoBody
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/files/"+key, body)
	if err != nil {
		return 0, err
	}
	req.ContentLength = fi.Size()
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("put %s: %s", key, resp.Status)
	}
	return fi.Size(), nil
}

func listFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no files under %s", root)
	}
	return files, err
}
