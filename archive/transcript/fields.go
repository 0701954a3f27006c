package transcript

import "slices"

// checker reads typed members out of the JSON tree, turning every mismatch into an *Error
// for file at the member's JSON path.
type checker struct{ file string }

func (c checker) object(v *value) error {
	if v.kind != kindObject {
		return wrongKind(c.file, v, "an object")
	}
	return nil
}

// known refuses members of obj that are not in allowed (strict formats only).
func (c checker) known(obj *value, allowed ...string) error {
	for _, k := range obj.keys {
		if !slices.Contains(allowed, k) {
			return invalidf(c.file, memberPath(obj.path, k), "unknown field (known: %s)", keyList(allowed))
		}
	}
	return nil
}

// member returns obj's member key, or an error if it is required and absent (or null).
func (c checker) member(obj *value, key string, required bool) (*value, error) {
	m := obj.get(key)
	if m == nil && required {
		return nil, invalidf(c.file, memberPath(obj.path, key), "is required")
	}
	return m, nil
}

// str returns a string member ("" if absent and not required).
func (c checker) str(obj *value, key string, required bool) (string, error) {
	m, err := c.member(obj, key, required)
	if m == nil {
		return "", err
	}
	if m.kind != kindString {
		return "", wrongKind(c.file, m, "a string")
	}
	if required && m.str == "" {
		return "", invalidf(c.file, m.path, "is empty")
	}
	return m.str, nil
}

// id returns a required id member, checked with idProblem.
func (c checker) id(obj *value, key string) (string, error) {
	s, err := c.str(obj, key, true)
	if err != nil {
		return "", err
	}
	if reason := idProblem(s); reason != "" {
		return "", invalidf(c.file, memberPath(obj.path, key), "%s", reason)
	}
	return s, nil
}

// array returns an array member (nil if absent and not required).
func (c checker) array(obj *value, key string, required bool) (*value, error) {
	m, err := c.member(obj, key, required)
	if m == nil {
		return nil, err
	}
	if m.kind != kindArray {
		return nil, wrongKind(c.file, m, "an array")
	}
	return m, nil
}

// unique remembers where each id was first seen and reports a repeat.
type unique map[string]string

func (u unique) add(c checker, v *value, id string) error {
	if first, dup := u[id]; dup {
		return invalidf(c.file, v.path, "%s is also %s", quote(id), first)
	}
	u[id] = v.path
	return nil
}

func (c checker) reasonf(v *value, reason string) error {
	if reason == "" {
		return nil
	}
	return invalidf(c.file, v.path, "%s", reason)
}
