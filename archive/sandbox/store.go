package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// File is one stored file.
type File struct {
	Key         string    `json:"key"`
	Size        int64     `json:"size"`
	ContentType string    `json:"contentType"`
	SHA256      string    `json:"sha256"` // hex
	Puts        int       `json:"puts"`   // how many times it was stored (1 + replacements)
	LastPut     time.Time `json:"lastPut"`
}

// Conversation is one accepted POST /conversations request.
type Conversation struct {
	Seq              int             `json:"seq"` // 1, 2, ... in arrival order
	Received         time.Time       `json:"received"`
	ReconciliationID string          `json:"reconciliationId"`
	Events           int             `json:"events"` // len(conversationEvents)
	Raw              json.RawMessage `json:"raw"`    // the request body
}

// Layout of Options.Dir:
//
//	files/<key>               the bytes, exactly as received
//	files.jsonl               one File record per line, appended after the bytes are in place;
//	                          the last line of a key is its record
//	conversations/000001.json one Conversation per accepted request
//	tmp/                      uploads in progress; emptied by New
//
// Sandboxes before files.jsonl kept each record in meta/<key>@meta.json; Load still reads them.
// Records go to one appended log rather than a file each so that a PUT creates as few inodes
// as a real store would need: on ext4 without a journal, creating inodes soon after many were
// deleted is slow enough to dominate a benchmark of thousands of small files.
const (
	filesDir   = "files"
	filesLog   = "files.jsonl"
	metaDir    = "meta" // legacy, read only
	convDir    = "conversations"
	tmpDir     = "tmp"
	metaSuffix = "@meta.json"
)

// errKeyConflict means a key cannot be stored next to another one on a file system: one
// names a file where the other needs a directory ("default/a" and "default/a/b").
var errKeyConflict = errors.New("key conflicts with a stored key")

// errShortBody means the request body ended before Content-Length bytes.
var errShortBody = errors.New("body shorter than Content-Length")

// store owns Options.Dir. Bytes are written to tmp/ and renamed into place, so a reader
// never sees a partial file; metadata follows the bytes, so a file without metadata (a
// crash between the two) was never acknowledged and is ignored on reload.
//
// PUTs of different keys touch the file system in parallel, as a real store's would: only
// the same key's PUTs are serialized (keyLocks), and mu guards the maps and the log's appends.
type store struct {
	dir      string
	memory   bool // Options.Memory: nothing of the files or conversations goes to dir
	unhashed bool // Options.Unhashed: memory bodies are not hashed
	keyLocks [64]sync.Mutex

	mu    sync.Mutex // also serializes appends to files.jsonl
	byKey map[string]File
	convs []Conversation
	seq   int
}

func openStore(dir string, memory, unhashed bool) (*store, error) {
	if memory {
		return &store{dir: dir, memory: true, unhashed: unhashed, byKey: make(map[string]File)}, nil
	}
	for _, d := range []string{filesDir, convDir, tmpDir} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	// Leftovers of uploads interrupted by a crash.
	entries, err := os.ReadDir(filepath.Join(dir, tmpDir))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, tmpDir, e.Name()))
	}
	files, convs, err := Load(dir)
	if err != nil {
		return nil, err
	}
	if err := repairLog(filepath.Join(dir, filesLog)); err != nil {
		return nil, err
	}
	st := &store{dir: dir, byKey: make(map[string]File, len(files)), convs: convs}
	for _, f := range files {
		st.byKey[f.Key] = f
	}
	if len(convs) > 0 {
		st.seq = convs[len(convs)-1].Seq
	}
	return st, nil
}

// Load reads what a sandbox stored in dir without changing anything, for listing a
// sandbox's directory while it may be running. Files are sorted by Key, conversations by Seq.
func Load(dir string) ([]File, []Conversation, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, nil, err
	}
	files, err := loadFiles(dir)
	if err != nil {
		return nil, nil, err
	}
	convs, err := loadConversations(dir)
	if err != nil {
		return nil, nil, err
	}
	return files, convs, nil
}

// loadFiles reads the legacy meta files and the files log: a key's last record wins, the
// log being newer, and only files whose bytes are in place with the recorded size count.
func loadFiles(dir string) ([]File, error) {
	files, err := loadLegacyMeta(filepath.Join(dir, metaDir))
	if err != nil {
		return nil, err
	}
	logged, err := readLog(filepath.Join(dir, filesLog))
	if err != nil {
		return nil, err
	}
	latest := make(map[string]File, len(files)+len(logged))
	for _, f := range append(files, logged...) {
		latest[f.Key] = f
	}
	files = files[:0]
	for _, f := range latest {
		fi, err := os.Stat(filepath.Join(dir, filesDir, filepath.FromSlash(f.Key)))
		if err == nil && fi.Mode().IsRegular() && fi.Size() == f.Size {
			files = append(files, f)
		}
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Key, b.Key) })
	return files, nil
}

// loadLegacyMeta reads the per-file records of older sandboxes under metaRoot (none if it
// does not exist).
func loadLegacyMeta(metaRoot string) ([]File, error) {
	var files []File
	err := filepath.WalkDir(metaRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == metaRoot {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, metaSuffix) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var f File
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		files = append(files, f)
		return nil
	})
	return files, err
}

// loadConversations reads the stored conversations, NNNNNN.json under convDir, by Seq.
func loadConversations(dir string) ([]Conversation, error) {
	var convs []Conversation
	entries, err := os.ReadDir(filepath.Join(dir, convDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") {
			continue
		}
		if _, err := strconv.Atoi(strings.TrimSuffix(name, ".json")); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, convDir, name))
		if err != nil {
			return nil, err
		}
		var c Conversation
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		convs = append(convs, c)
	}
	slices.SortFunc(convs, func(a, b Conversation) int { return a.Seq - b.Seq })
	return convs, nil
}

func (st *store) filePath(key string) string {
	return filepath.Join(st.dir, filesDir, filepath.FromSlash(key))
}

// readLog reads files.jsonl. A last line without its newline is an append cut short by a
// crash (or one in progress, for a reader beside a running sandbox): it is skipped.
func readLog(path string) ([]File, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var files []File
	for n := 1; len(b) > 0; n++ {
		line, rest, complete := bytes.Cut(b, []byte("\n"))
		if !complete {
			break
		}
		b = rest
		var f File
		if err := json.Unmarshal(line, &f); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, n, err)
		}
		files = append(files, f)
	}
	return files, nil
}

// repairLog cuts off a last line of files.jsonl that a crash left without its newline, so
// that the next record starts on a line of its own.
func repairLog(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		if keep := bytes.LastIndexByte(b, '\n') + 1; keep < len(b) {
			err = os.Truncate(path, int64(keep))
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// appendLog appends one record to files.jsonl in a single write. Called with mu held.
func (st *store) appendLog(f File) error {
	line, err := json.Marshal(f)
	if err != nil {
		return err
	}
	lf, err := os.OpenFile(filepath.Join(st.dir, filesLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = lf.Write(append(line, '\n'))
	if cerr := lf.Close(); err == nil {
		err = cerr
	}
	return err
}

// keyLock is the lock that serializes the PUTs of key.
func (st *store) keyLock(key string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(key))
	return &st.keyLocks[h.Sum32()%uint32(len(st.keyLocks))]
}

// putFile streams exactly size bytes of body into a temporary file, then moves it and its
// metadata into place. The same key again replaces the file and counts another put.
func (st *store) putFile(key, contentType string, size int64, body io.Reader) (File, error) {
	if st.memory {
		return st.putInMemory(key, contentType, size, body)
	}
	tmp, n, sum, err := receiveTemp(filepath.Join(st.dir, tmpDir), body, size)
	if err == nil && n != size {
		os.Remove(tmp)
		err = errShortBody
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = errShortBody
		}
		return File{}, err
	}
	defer os.Remove(tmp) // no-op once renamed

	kl := st.keyLock(key)
	kl.Lock()
	defer kl.Unlock()
	if err := placeFile(tmp, st.filePath(key)); err != nil {
		return File{}, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	f := File{Key: key, Size: n, ContentType: contentType, SHA256: sum, Puts: 1, LastPut: time.Now().UTC()}
	if old, ok := st.byKey[key]; ok {
		f.Puts = old.Puts + 1
	}
	if err := st.appendLog(f); err != nil {
		return File{}, err
	}
	st.byKey[key] = f
	return f, nil
}

// putInMemory is putFile of a memory store: the body is hashed (unless unhashed) and dropped.
func (st *store) putInMemory(key, contentType string, size int64, body io.Reader) (File, error) {
	h := sha256.New()
	var sink io.Writer = h
	if st.unhashed {
		sink = io.Discard
	}
	n, err := CopyBody(sink, body, size)
	if errors.Is(err, io.ErrUnexpectedEOF) || err == nil && n != size {
		err = errShortBody
	}
	if err != nil {
		return File{}, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	f := File{Key: key, Size: n, ContentType: contentType, Puts: 1, LastPut: time.Now().UTC()}
	if !st.unhashed {
		f.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	if old, ok := st.byKey[key]; ok {
		f.Puts = old.Puts + 1
	}
	st.byKey[key] = f
	return f, nil
}

// receiveTemp streams at most limit bytes of r into a new temporary file in dir, hashing
// them as they pass. On error the file is removed again.
func receiveTemp(dir string, r io.Reader, limit int64) (name string, n int64, sha string, err error) {
	f, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return "", 0, "", err
	}
	h := sha256.New()
	n, err = io.Copy(io.MultiWriter(f, h), io.LimitReader(r, limit))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", n, "", err
	}
	return f.Name(), n, hex.EncodeToString(h.Sum(nil)), nil
}

// placeFile renames src to dst, creating dst's directories; a file/directory clash between
// keys is errKeyConflict.
func placeFile(src, dst string) error {
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		return errKeyConflict
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
			return errKeyConflict
		}
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) {
			return errKeyConflict
		}
		return err
	}
	return nil
}

// writeAtomic writes b to a temporary file in tmp and renames it to dst, so that a reader
// never sees dst half written.
func writeAtomic(tmp, dst string, b []byte) error {
	f, err := os.CreateTemp(tmp, "write-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op once renamed
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), dst)
}

// missing returns the keys that are not stored.
func (st *store) missing(keys []string) []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []string
	for _, k := range keys {
		if _, ok := st.byKey[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// addConversation stores an accepted request under the next sequence number.
func (st *store) addConversation(raw []byte, events int, reconciliationID string) (Conversation, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	c := Conversation{
		Seq:              st.seq + 1,
		Received:         time.Now().UTC(),
		ReconciliationID: reconciliationID,
		Events:           events,
		Raw:              json.RawMessage(slices.Clone(raw)),
	}
	if !st.memory {
		b, err := json.Marshal(c)
		if err != nil {
			return Conversation{}, err
		}
		if err := writeAtomic(filepath.Join(st.dir, tmpDir), filepath.Join(st.dir, convDir, fmt.Sprintf("%06d.json", c.Seq)), b); err != nil {
			return Conversation{}, err
		}
	}
	st.seq = c.Seq
	st.convs = append(st.convs, c)
	return c, nil
}

func (st *store) files() []File {
	st.mu.Lock()
	out := make([]File, 0, len(st.byKey))
	for _, f := range st.byKey {
		out = append(out, f)
	}
	st.mu.Unlock()
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func (st *store) file(key string) (File, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	f, ok := st.byKey[key]
	return f, ok
}

// conversations returns copies of the conversations whose Seq is above after.
func (st *store) conversations(after int) []Conversation {
	st.mu.Lock()
	defer st.mu.Unlock()
	from, _ := slices.BinarySearchFunc(st.convs, after+1, func(c Conversation, seq int) int { return c.Seq - seq })
	out := make([]Conversation, len(st.convs)-from)
	for i, c := range st.convs[from:] {
		c.Raw = slices.Clone(c.Raw)
		out[i] = c
	}
	return out
}

func (st *store) counts() (files, conversations int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.byKey), len(st.convs)
}
