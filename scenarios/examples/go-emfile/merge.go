// Package merge joins sorted run files into one sorted stream, the last step of an external
// sort. A k-way merge holds every run open at once, so it is where a program meets its file
// descriptor limit (EMFILE, "too many open files") in production.
package merge

import (
	"bufio"
	"container/heap"
	"fmt"
	"io"
	"os"
)

// Merge writes the lines of the sorted runs in paths to w, in order. It opens every run before
// writing anything: when one cannot be opened it closes the others and returns an error that
// wraps the cause (errors.Is(err, syscall.EMFILE) holds) and names the run, with w untouched,
// so the caller can retry with fewer runs at once instead of keeping a silently short result.
func Merge(w io.Writer, paths []string) error {
	files := make([]*os.File, 0, len(paths))
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for i, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("merge: opening run %d of %d: %w", i+1, len(paths), err)
		}
		files = append(files, f)
	}
	return mergeOpen(w, files)
}

// MergeBestEffort is the tempting shortcut: a run that cannot be opened is skipped, so the merge
// "succeeds" with its lines missing. Kept to show that an injected EMFILE exposes it.
func MergeBestEffort(w io.Writer, paths []string) error {
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		files = append(files, f)
	}
	return mergeOpen(w, files)
}

type head struct {
	line string
	from *bufio.Scanner
}

type heads []head

func (h heads) Len() int            { return len(h) }
func (h heads) Less(i, j int) bool  { return h[i].line < h[j].line }
func (h heads) Swap(i, j int)       { h[i], h[j] = h[j], h[i] }
func (h *heads) Push(x interface{}) { *h = append(*h, x.(head)) }
func (h *heads) Pop() interface{} {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func mergeOpen(w io.Writer, files []*os.File) error {
	h := &heads{}
	for _, f := range files {
		s := bufio.NewScanner(f)
		if s.Scan() {
			heap.Push(h, head{s.Text(), s})
		} else if err := s.Err(); err != nil {
			return fmt.Errorf("merge: reading %s: %w", f.Name(), err)
		}
	}
	out := bufio.NewWriter(w)
	for h.Len() > 0 {
		top := heap.Pop(h).(head)
		if _, err := fmt.Fprintln(out, top.line); err != nil {
			return fmt.Errorf("merge: writing: %w", err)
		}
		if top.from.Scan() {
			heap.Push(h, head{top.from.Text(), top.from})
		} else if err := top.from.Err(); err != nil {
			return fmt.Errorf("merge: reading: %w", err)
		}
	}
	return out.Flush()
}
