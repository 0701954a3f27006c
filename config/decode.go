package config

import (
	"cmp"
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder stores a yaml.v3 node tree into a Go value, guided by the value's type and yaml
// struct tags. It replaces yaml.Node.Decode so that every problem carries the path of its
// key ("watches[1].sender.mail"), and so that one pass reports all of them instead of
// stopping at the first.
//
// Supported: structs (keys from yaml tags, ",inline" for embedded structs, unknown keys
// rejected), maps with string keys (free-form keys, values decoded), slices, pointers,
// strings, bools, integers, floats, and any type whose pointer implements
// encoding.TextUnmarshaler (such as Duration). Aliases and "<<" merge keys are followed.
type decoder struct {
	errs []error
}

// decodeValue sets the defaults of v, a settable struct, then decodes root into it. It
// returns the problems found, in the order of their lines in the file.
func decodeValue(root *yaml.Node, v reflect.Value) []error {
	applyDefaults(v)
	var d decoder
	d.decode(root, v, "")
	slices.SortStableFunc(d.errs, func(a, b error) int { return cmp.Compare(lineOf(a), lineOf(b)) })
	return d.errs
}

func lineOf(err error) int {
	var ke *KeyError
	if errors.As(err, &ke) {
		return ke.Line
	}
	return 0
}

// defaulter is implemented by configuration structs that have default values. The
// decoder calls it on every struct it creates before decoding into it, so a key that is
// absent keeps its default and a key that is present, even as 0 or false, overrides it.
type defaulter interface{ setDefaults() }

// applyDefaults sets the defaults of v, a settable struct, and of the structs nested in it
// (not those behind slices, maps or pointers: those are created, and defaulted, when the
// decoder meets them).
func applyDefaults(v reflect.Value) {
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && f.Type.Kind() == reflect.Struct {
			applyDefaults(v.Field(i))
		}
	}
	if d, ok := v.Addr().Interface().(defaulter); ok {
		d.setDefaults()
	}
}

func (d *decoder) fail(key string, n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &KeyError{Key: key, Line: n.Line, Err: fmt.Errorf(format, args...)})
}

// keyRecorder is implemented by structs that need to know which of their keys the file
// set, even to a zero value (a destination rejects the keys of another type). The decoder
// calls sawKey with each known key present in the mapping, null values included.
type keyRecorder interface{ sawKey(name string) }

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// decode stores n into v, which must be settable. A null node leaves v unchanged, so a key
// written without a value keeps its default.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, key string) {
	n = resolveAlias(n)
	if isNull(n) {
		return
	}
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		if v.IsNil() {
			p := reflect.New(t.Elem())
			applyDefaults(p.Elem())
			v.Set(p)
		}
		d.decode(n, v.Elem(), key)
		return
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		s, ok := d.scalar(n, t, key)
		if !ok {
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.errs = append(d.errs, &KeyError{Key: key, Line: n.Line, Err: err})
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, key)
	case reflect.Map:
		d.decodeMap(n, v, key)
	case reflect.Slice:
		d.decodeSlice(n, v, key)
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if s, ok := d.scalar(n, t, key); ok && !setScalar(v, s) {
			d.fail(key, n, "expected %s, got %q", describeType(t), s)
		}
	default:
		// A programming error in this package: a field type the decoder does not know.
		d.fail(key, n, "internal error: cannot decode into %s", t)
	}
}

// setScalar stores the text s into v, a string, bool, integer or float; false means s is
// not a value of v's type (or does not fit it).
func setScalar(v reflect.Value, s string) bool {
	t := v.Type()
	switch t.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return false
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := parseInt(s, t.Bits())
		if err != nil {
			return false
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, err := parseInt(s, 64)
		if err != nil || i < 0 || v.OverflowUint(uint64(i)) {
			return false
		}
		v.SetUint(uint64(i))
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), t.Bits())
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
		v.SetFloat(f)
	}
	return true
}

// scalar returns the text of n, or records an error naming what t expects.
func (d *decoder) scalar(n *yaml.Node, t reflect.Type, key string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(key, n, "expected %s, got %s", describeType(t), describeNode(n))
		return "", false
	}
	return n.Value, true
}

// parseInt accepts what YAML accepts for an integer (0x, 0o, 0b prefixes, "_" separators)
// and a float without fraction ("1e9"), which would otherwise be an error surprising to a
// person writing a byte limit.
func parseInt(s string, bits int) (int64, error) {
	s = strings.ReplaceAll(s, "_", "")
	if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	i, err := strconv.ParseInt(s, 0, bits)
	if err == nil {
		return i, nil
	}
	f, ferr := strconv.ParseFloat(s, 64)
	if ferr != nil || f != math.Trunc(f) || math.Abs(f) >= math.Exp2(float64(bits-1)) {
		return 0, err
	}
	return int64(f), nil
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.MappingNode {
		d.fail(key, n, "expected %s, got %s", describeType(v.Type()), describeNode(n))
		return
	}
	fields, names := structFields(v.Type())
	rec, _ := v.Addr().Interface().(keyRecorder)
	for _, p := range d.pairs(n, key) {
		name := p.key.Value
		index, ok := fields[name]
		if ok && rec != nil {
			rec.sawKey(name)
		}
		if !ok {
			msg := "unknown key"
			if s := suggest(name, names); s != "" {
				msg += fmt.Sprintf(", did you mean %q?", s)
			}
			d.fail(joinKey(key, name), p.key, "%s", msg)
			continue
		}
		d.decode(p.value, v.FieldByIndex(index), joinKey(key, name))
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, key string) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.fail(key, n, "internal error: cannot decode into %s", t)
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(key, n, "expected %s, got %s", describeType(t), describeNode(n))
		return
	}
	m := reflect.MakeMap(t)
	for _, p := range d.pairs(n, key) {
		elem := reflect.New(t.Elem()).Elem()
		applyDefaults(elem)
		d.decode(p.value, elem, mapKey(key, p.key.Value))
		m.SetMapIndex(reflect.ValueOf(p.key.Value).Convert(t.Key()), elem)
	}
	v.Set(m)
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, key string) {
	t := v.Type()
	if n.Kind != yaml.SequenceNode {
		d.fail(key, n, "expected %s, got %s", describeType(t), describeNode(n))
		return
	}
	s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
	for i, item := range n.Content {
		elem := s.Index(i)
		applyDefaults(elem)
		d.decode(item, elem, fmt.Sprintf("%s[%d]", key, i))
	}
	v.Set(s)
}

type pair struct{ key, value *yaml.Node }

// pairs returns the key/value pairs of mapping n: its own keys first, then the keys it
// merges with "<<" that it does not set itself. Each key appears once; a key written twice
// is reported.
func (d *decoder) pairs(n *yaml.Node, key string) []pair {
	var out []pair
	seen := make(map[string]*yaml.Node)
	d.collectPairs(n, key, &out, seen, map[*yaml.Node]bool{}, true)
	return out
}

func (d *decoder) collectPairs(n *yaml.Node, key string, out *[]pair, seen map[string]*yaml.Node, visiting map[*yaml.Node]bool, own bool) {
	if visiting[n] {
		d.fail(key, n, "merge (<<) refers to the mapping that contains it")
		return
	}
	visiting[n] = true
	defer delete(visiting, n)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolveAlias(n.Content[i]), n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			merges = append(merges, val)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(key, k, "keys must be plain strings, got %s", describeNode(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			if own {
				d.fail(joinKey(key, k.Value), k, "key is set twice (first at line %d)", first.Line)
			}
			continue
		}
		seen[k.Value] = k
		*out = append(*out, pair{k, val})
	}
	for _, m := range merges {
		m = resolveAlias(m)
		var sources []*yaml.Node
		switch m.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{m}
		case yaml.SequenceNode:
			sources = m.Content
		}
		for _, src := range sources {
			src = resolveAlias(src)
			if src.Kind != yaml.MappingNode {
				d.fail(key, src, "merge (<<) expects a mapping or a list of mappings, got %s", describeNode(src))
				continue
			}
			d.collectPairs(src, key, out, seen, visiting, false)
		}
		if len(sources) == 0 {
			d.fail(key, m, "merge (<<) expects a mapping or a list of mappings, got %s", describeNode(m))
		}
	}
}

// structFields maps each yaml key of struct type t to its field's index, following
// ",inline" embedded structs. names lists the keys in declaration order.
func structFields(t reflect.Type) (fields map[string][]int, names []string) {
	fields = make(map[string][]int)
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("yaml")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			index := append(append([]int(nil), prefix...), i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct && strings.Contains(","+opts+",", ",inline,") {
				walk(f.Type, index)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			fields[name] = index
			names = append(names, name)
		}
	}
	walk(t, nil)
	return fields, names
}

func joinKey(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// mapKey names the value under a free-form map key: destinations.crm, or
// destinations["crm eu"] when the key would not read unambiguously after a dot.
func mapKey(parent, name string) string {
	plain := name != ""
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			plain = false
			break
		}
	}
	if plain {
		return joinKey(parent, name)
	}
	return parent + "[" + strconv.Quote(name) + "]"
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

func describeType(t reflect.Type) string {
	if t == reflect.TypeFor[Duration]() {
		return `a duration such as "30s" or "1m30s"`
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return "a single value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Pointer:
		return describeType(t.Elem())
	}
	return t.String()
}

// suggest returns the known key closest to an unknown one, if it is close enough to be
// a likely typo.
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return k
		}
		if dist := editDistance(strings.ToLower(name), k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
