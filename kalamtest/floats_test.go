package kalamtest

import "testing"

func TestFormatSerdeFloat(t *testing.T) {
	for f, want := range map[float64]string{
		20: "20.0", 0: "0.0", -3: "-3.0", 0.1: "0.1", 79.6: "79.6", 1.5e-7: "1.5e-7",
		1e21: "1e21", 1e16: "1e16", 1234567890123456: "1234567890123456.0", 0.0001: "0.0001",
		0.00001: "0.00001", 0.000001: "1e-6", -2.5e300: "-2.5e300",
	} {
		if got := formatSerdeFloat(f); got != want {
			t.Errorf("%v: got %s, want %s", f, got, want)
		}
	}
}
