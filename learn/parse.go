package learn

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// parseNumber reads a numeric cell; empty and NaN cells are missing.
func parseNumber(s string) (float64, error) {
	if s == "" {
		return math.NaN(), nil
	}
	if v, ok := fastFloat(s); ok {
		return v, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t := strings.TrimSpace(s)
		if t == "" {
			return math.NaN(), nil
		}
		if v, err = strconv.ParseFloat(t, 64); err != nil {
			return 0, fmt.Errorf("%q is not a number", s)
		}
	}
	if math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return v, nil
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// fastFloat parses plain decimals ([+-]digits[.digits], at most 15
// digits) exactly as strconv does, but faster: the digits fit a float64
// exactly and so does the power of ten, so one IEEE division rounds
// correctly (Clinger's fast path). Anything else reports false.
func fastFloat(s string) (float64, bool) {
	i, neg := 0, false
	switch s[0] {
	case '-':
		neg, i = true, 1
	case '+':
		i = 1
	}
	var mant uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= '0' && ch <= '9':
			mant = mant*10 + uint64(ch-'0')
			digits++
			if dot {
				frac++
			}
			if digits > 15 {
				return 0, false
			}
		case ch == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	v := float64(mant) / pow10[frac]
	if neg {
		v = -v
	}
	return v, true
}

// parseFlag reads a 0/1 cell: 0/1, true/false, yes/no, y/n (any case).
func parseFlag(s string) (float64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return math.NaN(), nil
	case "1", "true", "yes", "y", "t":
		return 1, nil
	case "0", "false", "no", "n", "f":
		return 0, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err == nil && (v == 0 || v == 1) {
		return v, nil
	}
	return 0, fmt.Errorf("%q is not a 0/1 flag", s)
}

// cellError names the data row and column of a bad cell.
func cellError(row int, col string, err error) error {
	return fmt.Errorf("data row %d, column %q: %w", row+1, col, err)
}
