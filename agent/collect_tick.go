package agent

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ticker calls a function every interval until stopped: the collector
// actors' collection clock.
//
// On Linux it is a kernel timer (timerfd) read through the runtime's
// network poller, not a Go timer. A Go timer fires up to a millisecond
// late on Linux, and costs wake-ups on the way: the poller sleeps in
// epoll_pwait, whose timeout is in whole milliseconds, rounded down, so it
// wakes early, finds the timer not yet due and sleeps a whole millisecond
// more; meanwhile the runtime's monitor thread (sysmon), which sleeps until
// the next timer exactly, wakes on time, finds the timer overdue and polls
// every 20 µs until the poller runs it. With a collection every 10 ms that
// was one extra poller wake-up and 5–7 monitor wake-ups (each two context
// switches) per cycle. A timerfd wakes the poller's epoll_pwait at the
// interval exactly and leaves no Go timer for the monitor to wait for; its
// expiry count is read with a raw system call (see procFile.pread: an
// ordinary read would wake the monitor thread for the whole cycle).
type ticker struct {
	interval time.Duration
	tick     func()
	done     chan struct{} // closed by Stop
	once     sync.Once
	f        *os.File // the timerfd; nil on the time.Ticker clock
}

// startTicker calls tick every interval, from a goroutine of its own,
// until Stop. Ticks that come while the previous call still runs are not
// queued: the kernel counts the expiries, one call is made for them all,
// like a time.Ticker's dropped ticks.
func startTicker(interval time.Duration, tick func()) *ticker {
	if interval <= 0 {
		panic(fmt.Sprintf("agent: ticker interval %s is not positive", interval))
	}
	t := &ticker{interval: interval, tick: tick, done: make(chan struct{})}
	if f, err := newTimerFD(interval); err == nil {
		t.f = f
		go t.timerFDLoop()
		return t
	}
	go t.timeLoop()
	return t
}

// startTimeTicker is startTicker on a time.Ticker, the clock used where
// there is no timerfd.
func startTimeTicker(interval time.Duration, tick func()) *ticker {
	t := &ticker{interval: interval, tick: tick, done: make(chan struct{})}
	go t.timeLoop()
	return t
}

// Stop stops the ticker: no tick starts once a call under way (if any)
// has returned. It may be called more than once.
func (t *ticker) Stop() {
	t.once.Do(func() {
		close(t.done)
		if t.f != nil {
			_ = t.f.Close()
		}
	})
}

// timeLoop ticks on a time.Ticker until Stop.
func (t *ticker) timeLoop() {
	tt := time.NewTicker(t.interval)
	defer tt.Stop()
	for {
		select {
		case <-tt.C:
			select {
			case <-t.done:
				return
			default:
			}
			t.tick()
		case <-t.done:
			return
		}
	}
}

// newTimerFD returns a non-blocking periodic CLOCK_MONOTONIC timerfd that
// first expires one interval from now, as an os.File registered with the
// runtime's poller.
func newTimerFD(interval time.Duration) (*os.File, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	ts := unix.NsecToTimespec(interval.Nanoseconds())
	if err := unix.TimerfdSettime(fd, 0, &unix.ItimerSpec{Interval: ts, Value: ts}, nil); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("timerfd_settime: %w", err)
	}
	return os.NewFile(uintptr(fd), "timerfd"), nil
}

// timerFDLoop reads the timerfd's expiries and ticks once per read, until
// Stop closes it. If the descriptor cannot be waited on (not registered
// with the poller) or fails otherwise, it goes on with timeLoop.
func (t *ticker) timerFDLoop() {
	rc, err := t.f.SyscallConn()
	if err != nil {
		t.fallBack()
		return
	}
	var (
		n     uint64 // expiries since the last read
		got   uintptr
		errno syscall.Errno
	)
	read := func(fd uintptr) bool {
		for {
			got, _, errno = unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&n)), unsafe.Sizeof(n))
			if errno != unix.EINTR {
				return errno != unix.EAGAIN // not yet expired: wait in the poller
			}
		}
	}
	for {
		if err := rc.Read(read); err != nil || errno != 0 || got != unsafe.Sizeof(n) {
			t.fallBack()
			return
		}
		select {
		case <-t.done:
			return
		default:
		}
		t.tick()
	}
}

// fallBack replaces a failed timerfd clock with timeLoop, unless the
// ticker was stopped (which closes the timerfd, failing its read).
func (t *ticker) fallBack() {
	select {
	case <-t.done:
		return
	default:
	}
	_ = t.f.Close() // a Stop racing with this only closes it twice
	t.timeLoop()
}
