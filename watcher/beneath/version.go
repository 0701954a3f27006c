package beneath

import (
	"errors"
	"io/fs"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// What tells one version of a file from another without reading it. Size and mtime are set
// by whoever writes the file, and can be set back (touch -d, cp -p, tar x); the change time
// (ctime) is set by the kernel on every write, rename, chmod and utimes, and the birth time
// when the inode is created: a writer cannot set either back. The file's version identity
// therefore includes them, besides size, mtime, inode and device.

// noStatx is set once statx(2) turned out to be unavailable (an old kernel, or a seccomp
// filter that refuses it); every stat then uses fstatat, without the birth time.
var noStatx atomic.Bool

// lstatAt describes name in the folder dirfd without following a symlink: statx where the
// kernel allows it (for the birth time), fstatat otherwise.
func lstatAt(dirfd int, name string) (*fileInfo, error) {
	return statxOr(dirfd, name, unix.AT_SYMLINK_NOFOLLOW, func(st *unix.Stat_t) error { return fstatat(dirfd, name, st) })
}

// Fstat describes the open file f like f.Stat, with the birth time where statx gives it
// (see BirthTime). Sys() of the result is a *unix.Stat_t.
func Fstat(f *os.File) (fs.FileInfo, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: f.Name(), Err: err}
	}
	var fi *fileInfo
	var serr error
	if err := rc.Control(func(fd uintptr) {
		fi, serr = statxOr(int(fd), "", unix.AT_EMPTY_PATH, func(st *unix.Stat_t) error { return fstat(int(fd), st) })
	}); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: f.Name(), Err: err}
	}
	if serr != nil {
		return nil, &fs.PathError{Op: "stat", Path: f.Name(), Err: serr}
	}
	fi.name = f.Name()
	return fi, nil
}

func statxOr(dirfd int, name string, flags int, fallback func(st *unix.Stat_t) error) (*fileInfo, error) {
	fi := &fileInfo{name: name}
	if !noStatx.Load() {
		var sx unix.Statx_t
		err := unix.Statx(dirfd, name, flags|unix.AT_STATX_SYNC_AS_STAT, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &sx)
		for errors.Is(err, unix.EINTR) {
			err = unix.Statx(dirfd, name, flags|unix.AT_STATX_SYNC_AS_STAT, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &sx)
		}
		switch {
		case err == nil:
			fromStatx(&sx, &fi.st)
			if sx.Mask&unix.STATX_BTIME != 0 && (sx.Btime.Sec != 0 || sx.Btime.Nsec != 0) {
				fi.birth = time.Unix(sx.Btime.Sec, int64(sx.Btime.Nsec))
			}
			return fi, nil
		case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
			// Stat never fails with EPERM: that is a seccomp filter refusing statx.
			noStatx.Store(true)
		default:
			return nil, err
		}
	}
	if err := fallback(&fi.st); err != nil {
		return nil, err
	}
	return fi, nil
}

// fromStatx fills st from sx; set converts to whatever width the architecture's Stat_t uses.
func fromStatx(sx *unix.Statx_t, st *unix.Stat_t) {
	*st = unix.Stat_t{}
	set(&st.Dev, unix.Mkdev(sx.Dev_major, sx.Dev_minor))
	set(&st.Rdev, unix.Mkdev(sx.Rdev_major, sx.Rdev_minor))
	set(&st.Ino, sx.Ino)
	set(&st.Nlink, uint64(sx.Nlink))
	set(&st.Mode, uint64(sx.Mode))
	set(&st.Uid, uint64(sx.Uid))
	set(&st.Gid, uint64(sx.Gid))
	set(&st.Size, sx.Size)
	set(&st.Blksize, uint64(sx.Blksize))
	set(&st.Blocks, sx.Blocks)
	timespec(&st.Atim, sx.Atime)
	timespec(&st.Mtim, sx.Mtime)
	timespec(&st.Ctim, sx.Ctime)
}

func set[T ~int32 | ~int64 | ~uint32 | ~uint64](dst *T, v uint64) { *dst = T(v) }

// timespec copies a statx time field by field: in nanoseconds an mtime before 1678 or after
// 2262 would wrap.
func timespec(dst *unix.Timespec, t unix.StatxTimestamp) {
	setInt(&dst.Sec, t.Sec)
	setInt(&dst.Nsec, int64(t.Nsec))
}

func setInt[T ~int32 | ~int64](dst *T, v int64) { *dst = T(v) }

// ChangeTime is the status change time (ctime) of a stat result from this package or from
// package os; zero if fi carries none.
func ChangeTime(fi fs.FileInfo) time.Time {
	switch st := fi.Sys().(type) {
	case *unix.Stat_t:
		return time.Unix(st.Ctim.Unix())
	case *syscall.Stat_t:
		return time.Unix(st.Ctim.Unix())
	}
	return time.Time{}
}

// BirthTime is when the file was created, for a stat result of this package on a file system
// and kernel that report it through statx; zero otherwise (unknown, not "1970").
func BirthTime(fi fs.FileInfo) time.Time {
	if f, ok := fi.(*fileInfo); ok {
		return f.birth
	}
	return time.Time{}
}
