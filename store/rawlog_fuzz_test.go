package store

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
)

// FuzzRawSegment: any bytes as a segment file: scanning never panics,
// stops at the end of the last whole record, and every record it indexes
// reads back (its payload parses, with the indexed host and time).
func FuzzRawSegment(f *testing.F) {
	seg := []byte(rawSegMagic)
	seg = appendRawRecord(seg, &rawRec{host: "web1", t: 7, first: "m.cpu:all", value: []byte{2, 1}})
	seg = appendRawRecord(seg, &rawRec{host: "", t: -1, first: "", value: nil})
	f.Add(seg)
	f.Add(seg[:len(seg)-2])
	f.Add([]byte(rawSegMagic + "\x00\x00\x00\x01\x00\x00\x00\x00\x00"))
	f.Add([]byte(rawSegMagic + "\xff\xff\xff\xff\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		mem, minT, maxT, n, end, _ := scanRawRecords(bytes.NewReader(data))
		if end > int64(len(data)) {
			t.Fatalf("end %d beyond %d bytes", end, len(data))
		}
		seen := 0
		for host, refs := range mem {
			for _, r := range refs {
				seen++
				if r.off < int64(len(rawSegMagic)) || r.off+int64(r.n) > end || r.t < minT || r.t > maxT {
					t.Fatalf("ref %+v outside [%d, %d) or times [%d, %d]", r, len(rawSegMagic), end, minT, maxT)
				}
				h, tt, _, _, err := parseRawPayload(data[r.off+rawRecHeader : r.off+int64(r.n)])
				if err != nil || h != host || tt != r.t {
					t.Fatalf("indexed record at %d reads as %q %d %v, indexed as %q %d", r.off, h, tt, err, host, r.t)
				}
			}
		}
		if seen != n {
			t.Fatalf("%d records counted, %d indexed", n, seen)
		}
	})
}

// FuzzRawIndex: any bytes as an index file: the header check and a host
// search never panic and never read refs beyond what the file holds.
func FuzzRawIndex(f *testing.F) {
	l := &rawLog{}
	seg := &rawSeg{path: "x.seg", minT: 1, maxT: 9, n: 3, mem: map[string][]rawRef{
		"a": {{t: 1, off: 8, n: 30}, {t: 9, off: 38, n: 30}}, "b": {{t: 5, off: 68, n: 31}}}}
	f.Add(buildIndex(t0(f), l, seg), "a")
	f.Add(buildIndex(t0(f), l, seg), "zz")
	f.Add([]byte(rawIdxMagic), "a")
	f.Fuzz(func(t *testing.T, data []byte, host string) {
		h, err := decodeRawIndexHeader(data, int64(len(data)))
		if err != nil {
			return
		}
		table := data[rawIdxHeader : rawIdxHeader+rawIdxHostLen*int(h.hosts)]
		refs, err := searchRawIndex(bytes.NewReader(data), h, table, hostHash(host))
		if err == nil && len(refs) > int(h.refs) {
			t.Fatalf("%d refs from an index of %d", len(refs), h.refs)
		}
	})
}

// t0 returns a testing.TB for helpers called while adding fuzz seeds.
func t0(f *testing.F) testing.TB { return f }

// buildIndex returns the index file writeRawIndex writes for seg.
func buildIndex(t testing.TB, l *rawLog, seg *rawSeg) []byte {
	t.Helper()
	dir := t.TempDir()
	s := *seg
	s.path = dir + "/0.seg"
	if err := l.writeRawIndex(&s); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(idxPath(s.path))
	if err != nil {
		t.Fatal(err)
	}
	if binary.BigEndian.Uint32(b[12:]) != 3 {
		t.Fatalf("index of %d refs, want 3", binary.BigEndian.Uint32(b[12:]))
	}
	return b
}
