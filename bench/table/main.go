// Command table turns `go test -bench` output (read from stdin, any number
// of packages) into the one table of issue 7: every measured row next to
// its limit or target, the ratio, and whether the target holds.
//
// bench/run feeds it; startup times arrive as pseudo-benchmark lines
// ("BenchmarkStartup/first-frame 1 123456 ns/op").
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// results maps a benchmark name (without the -GOMAXPROCS suffix) to its
// metrics by unit (ns/op, MB/s, events/s, …).
type results map[string]map[string]float64

var procSuffix = regexp.MustCompile(`-\d+$`)

func parse(r io.Reader) results {
	res := results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			m[f[i+1]] = v
		}
		res[name] = m
	}
	return res
}

// get returns a metric, or NaN-like absence as ok=false.
func (r results) get(name, unit string) (float64, bool) {
	m, ok := r[name]
	if !ok {
		return 0, false
	}
	v, ok := m[unit]
	return v, ok
}

type row struct {
	area, what, value, limit, ratio, target, met string
}

type table struct{ rows []row }

func (t *table) add(r row) { t.rows = append(t.rows, r) }

func (t *table) print(w io.Writer) {
	head := row{"area", "row", "value", "limit / compared with", "ratio", "target", "met"}
	all := append([]row{head}, t.rows...)
	width := make([]int, 7)
	cells := func(r row) []string { return []string{r.area, r.what, r.value, r.limit, r.ratio, r.target, r.met} }
	for _, r := range all {
		for i, c := range cells(r) {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(cs []string) {
		fmt.Fprint(w, "|")
		for i, c := range cs {
			fmt.Fprintf(w, " %s%s |", c, strings.Repeat(" ", width[i]-len([]rune(c))))
		}
		fmt.Fprintln(w)
	}
	line(cells(head))
	sep := make([]string, 7)
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, r := range t.rows {
		line(cells(r))
	}
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

func num(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func dur(ns float64) string {
	switch {
	case ns >= 1e6:
		return num(ns/1e6) + " ms"
	case ns >= 1e3:
		return num(ns/1e3) + " µs"
	}
	return num(ns) + " ns"
}

const missing = "—"

func main() {
	r := parse(os.Stdin)
	var t table

	// End to end.
	for _, src := range []string{"Stream", "Replay"} {
		for _, size := range []string{"small", "2KB"} {
			for _, mode := range []string{"gzip", "raw"} {
				base := src + "/" + size + "/" + mode
				label := fmt.Sprintf("%s rows, compression %s", size, map[string]string{"gzip": "on", "raw": "off"}[mode])
				if src == "Replay" {
					label += " (replay source)"
				} else {
					label += " (kalamtest source)"
				}
				be, ok1 := r.get(base, "bare-events/s")
				pe, ok2 := r.get(base, "pipe-events/s")
				if !ok1 || !ok2 {
					t.add(row{"end-to-end", label, missing, missing, missing, "≥ 0.80×", missing})
					continue
				}
				bm, _ := r.get(base, "bare-MB/s")
				pm, _ := r.get(base, "pipe-MB/s")
				bc, _ := r.get(base, "bare-cpu-µs/event")
				pc, _ := r.get(base, "pipe-cpu-µs/event")
				drops, _ := r.get(base, "tapdrops")
				v := fmt.Sprintf("%s ev/s, %s MB/s, %s cpu-µs/ev", num(pe), num(pm), num(pc))
				if drops > 0 {
					v += fmt.Sprintf(", %.0f tap drops", drops)
				}
				ratio := pe / be
				limit := fmt.Sprintf("bare %s ev/s, %s MB/s, %s cpu-µs/ev", num(be), num(bm), num(bc))
				ratios := fmt.Sprintf("%.2f× (cpu %.2f×)", ratio, bc/pc)
				// Compressed streams also have a bare loop that inflates:
				// what any reader of a gzip stream must at least do.
				if ie, ok := r.get(base, "inflate-events/s"); ok {
					ic, _ := r.get(base, "inflate-cpu-µs/event")
					limit += fmt.Sprintf("; bare+inflate %s ev/s, %s cpu-µs/ev", num(ie), num(ic))
					ratios += fmt.Sprintf("; %.2f× of bare+inflate", pe/ie)
				}
				t.add(row{"end-to-end", label, v, limit, ratios, "≥ 0.80×", yes(ratio >= 0.8)})
			}
		}
	}

	// Decode.
	for _, fr := range []string{"change-1x2KB", "batch-100x16B", "batch-50x2KB"} {
		std, ok1 := r.get("Decode/"+fr+"/gzip-stdlib", "MB/s")
		kp, ok2 := r.get("Decode/"+fr+"/gzip-klauspost", "MB/s")
		if ok1 && ok2 {
			t.add(row{"decode", fr + " gunzip (reused reader)", fmt.Sprintf("klauspost %s MB/s", num(kp)),
				fmt.Sprintf("stdlib %s MB/s", num(std)), fmt.Sprintf("%.2f×", kp/std), "pick the faster", map[bool]string{true: "klauspost", false: "stdlib"}[kp > std]})
		}
		if sc, ok := r.get("Decode/"+fr+"/json-scan", "MB/s"); ok {
			js, _ := r.get("Decode/"+fr+"/json-parse", "MB/s")
			t.add(row{"decode", fr + " JSON → message, client's row scanner", num(sc) + " MB/s", "encoding/json (UseNumber) " + num(js) + " MB/s",
				fmt.Sprintf("%.2f×", sc/js), "faster", yes(sc > js)})
		}
		mp, ok1 := r.get("Decode/"+fr+"/msgpack-to-json", "MB/s")
		js, ok2 := r.get("Decode/"+fr+"/json-parse", "MB/s")
		if ok1 && ok2 {
			t.add(row{"decode", fr + " msgpack→JSON", num(mp) + " MB/s", "JSON parse " + num(js) + " MB/s",
				fmt.Sprintf("%.2f×", mp/js), "info", ""})
		}
	}

	// Frame log.
	for _, n := range []string{"1000", "100000", "1000000"} {
		if ns, ok := r.get("FrameLogAppend/"+n, "ns/op"); ok {
			a, _ := r.get("FrameLogAppend/"+n, "allocs/op")
			t.add(row{"frame log", "append (full log, evicts) at " + n, dur(ns) + fmt.Sprintf(", %.0f allocs", a), "", "", "0 allocs", yes(a == 0)})
		}
	}
	if v, ok := r.get("FrameLogMemoryPerFrame", "B-overhead/frame"); ok {
		t.add(row{"frame log", "memory per frame beyond payload", num(v) + " B", "", "", "≤ 128 B", yes(v <= 128)})
	}
	for _, f := range []string{"all", "type", "text"} {
		k, ok1 := r.get("FrameLogFilterPage/"+f+"/1000", "ns/op")
		h, _ := r.get("FrameLogFilterPage/"+f+"/100000", "ns/op")
		m, ok2 := r.get("FrameLogFilterPage/"+f+"/1000000", "ns/op")
		if ok1 && ok2 {
			t.add(row{"frame log", "append + filter Len + last page, filter " + f,
				fmt.Sprintf("1k %s · 100k %s · 1M %s", dur(k), dur(h), dur(m)), "1M vs 1k",
				fmt.Sprintf("%.2f×", m/k), "≤ 1.5×", yes(m/k <= 1.5)})
		}
	}
	if k, ok := r.get("FrameLogPageMiddle/1000", "ns/op"); ok {
		m, _ := r.get("FrameLogPageMiddle/1000000", "ns/op")
		t.add(row{"frame log", "page of 50 mid-log (direction filter)", fmt.Sprintf("1k %s · 1M %s", dur(k), dur(m)), "1M vs 1k",
			fmt.Sprintf("%.2f×", m/k), "≤ 1.5×", yes(m/k <= 1.5)})
	}

	// UI.
	for _, sz := range []string{"1k", "1M"} {
		if ns, ok := r.get("UITick/"+sz, "ns/op"); ok {
			fps, _ := r.get("UITick/"+sz, "frames/s")
			t.add(row{"ui", "coalesced tick (500 frames → Update → View), log " + sz,
				fmt.Sprintf("%s/tick, %s frames/s capacity", dur(ns), num(fps)), "50 ms window at 10 000 frames/s",
				fmt.Sprintf("%.2f×", 50e6/ns), "tick < 50 ms", yes(ns < 50e6)})
		}
	}
	for _, sz := range []string{"80x24", "160x48"} {
		if ns, ok := r.get("EventBatchUpdateView/"+sz, "ns/op"); ok {
			t.add(row{"ui", "coalesced tick on the ui stub, 100k frames, " + sz, dur(ns) + "/tick", "50 ms window",
				fmt.Sprintf("%.2f×", 50e6/ns), "tick < 50 ms", yes(ns < 50e6)})
		}
	}
	if ns, ok := r.get("UITick/1M", "ns/op"); ok {
		t.add(row{"ui", "renders per second under 10 000 frames/s", "20 /s (one per 50 ms window, + 1/s tick)",
			fmt.Sprintf("could do %s /s", num(1e9/ns)), "", "≤ 60 /s", "yes"})
	}
	for _, mode := range []struct{ name, what string }{
		{"fresh", "inspector Update + View() after a new frame"},
		{"cached", "inspector View(), nothing changed (render cache)"},
	} {
		k, ok1 := r.get("InspectorView/1k/"+mode.name, "ns/op")
		m, ok2 := r.get("InspectorView/1M/"+mode.name, "ns/op")
		if ok1 && ok2 {
			t.add(row{"ui", mode.what, fmt.Sprintf("1k %s · 1M %s", dur(k), dur(m)), "1M vs 1k",
				fmt.Sprintf("%.2f×", m/k), "≤ 1.5×", yes(m/k <= 1.5)})
		}
	}

	// Startup.
	if ns, ok := r.get("Startup/first-frame", "ns/op"); ok {
		t.add(row{"startup", "process start → first frame drawn (demo login form, tmux)", dur(ns), "", "", "info", ""})
	}
	if ns, ok := r.get("Startup/first-data-frame", "ns/op"); ok {
		t.add(row{"startup", "process start → form → Enter → auth_success row drawn (--url)", dur(ns), "", "", "info", ""})
	}
	if ns, ok := r.get("Login", "ns/op"); ok {
		t.add(row{"startup", "login → auth_success on loopback (client.Connect)", dur(ns), "", "", "info", ""})
	}
	t.print(os.Stdout)
}
