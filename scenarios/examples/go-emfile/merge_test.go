package merge

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

const runs, linesPerRun = 8, 100

// writeRuns writes sorted runs the way an external sort does: each to a temporary name, then
// renamed to run-N.sorted. Only the merge opens *.sorted files, so a fault scoped to that glob
// counts the merge's opens alone.
func writeRuns(t *testing.T) (paths []string, want []string) {
	dir := t.TempDir()
	for r := 0; r < runs; r++ {
		var lines []string
		for i := 0; i < linesPerRun; i++ {
			lines = append(lines, fmt.Sprintf("key-%04d-run-%d", i*runs+r, r))
		}
		want = append(want, lines...)
		tmp := filepath.Join(dir, fmt.Sprintf("run-%d.tmp", r))
		if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("run-%d.sorted", r))
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	sort.Strings(want)
	return paths, want
}

func openFds(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func checkComplete(t *testing.T, got string, want []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if got == "" {
		lines = nil
	}
	if len(lines) != len(want) {
		t.Fatalf("lost data: merged %d of %d lines", len(lines), len(want))
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Fatalf("line %d: got %q, want %q", i+1, lines[i], want[i])
		}
	}
}

// Without a fault the merge is complete. With one (an injected EMFILE, or a real fd limit) the
// error must wrap EMFILE and name the run, nothing may be written and no descriptor may leak;
// a retry then gets every line.
func TestMerge(t *testing.T) {
	paths, want := writeRuns(t)
	fds := openFds(t)
	var out bytes.Buffer
	err := Merge(&out, paths)
	if err != nil {
		if !errors.Is(err, syscall.EMFILE) {
			t.Fatalf("unexpected error: %v", err)
		}
		if !strings.Contains(err.Error(), "opening run ") || !strings.Contains(err.Error(), "too many open files") {
			t.Fatalf("the error does not say which run and why: %v", err)
		}
		if out.Len() != 0 {
			t.Fatalf("a failed merge wrote %d bytes", out.Len())
		}
		if now := openFds(t); now != fds {
			t.Fatalf("a failed merge leaked descriptors: %d open before, %d after", fds, now)
		}
		t.Logf("error path taken: %v", err)
		if err = Merge(&out, paths); err != nil {
			t.Fatalf("the retry failed too: %v", err)
		}
		t.Logf("retry merged every run")
	}
	checkComplete(t, out.String(), want)
}

// The best-effort merge passes as long as every open succeeds.
func TestMergeBestEffort(t *testing.T) {
	paths, want := writeRuns(t)
	var out bytes.Buffer
	if err := MergeBestEffort(&out, paths); err != nil {
		t.Fatal(err)
	}
	checkComplete(t, out.String(), want)
}
