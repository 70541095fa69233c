package learn

import "slices"

// levelDict codes the distinct values of a column in order of first sight.
// A column has few levels, so a short list is searched linearly (cheaper
// than hashing) and a map is built only when the list grows long.
type levelDict struct {
	levels []string
	index  map[string]int32
}

// linearLevels is the longest level list searched without a map.
const linearLevels = 16

// code returns the code of s, adding s as a new level when unseen.
func (d *levelDict) code(s string) int32 {
	if d.index == nil {
		for i, l := range d.levels {
			if l == s {
				return int32(i)
			}
		}
		if len(d.levels) < linearLevels {
			d.levels = append(d.levels, s)
			return int32(len(d.levels) - 1)
		}
		d.index = make(map[string]int32, 2*len(d.levels))
		for i, l := range d.levels {
			d.index[l] = int32(i)
		}
	}
	if c, ok := d.index[s]; ok {
		return c
	}
	c := int32(len(d.levels))
	d.index[s] = c
	d.levels = append(d.levels, s)
	return c
}

// mergeLevels returns the sorted union of the levels of the blocks'
// dictionaries and, per block, the map from its codes to the union's.
func mergeLevels(blocks []blockScan, dict func(*blockScan) *levelDict) ([]string, [][]int32) {
	var all []string
	for b := range blocks {
		all = append(all, dict(&blocks[b]).levels...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	remap := make([][]int32, len(blocks))
	for b := range blocks {
		levels := dict(&blocks[b]).levels
		remap[b] = make([]int32, len(levels))
		for i, l := range levels {
			k, _ := slices.BinarySearch(all, l)
			remap[b][i] = int32(k)
		}
	}
	return slices.Clip(all), remap
}

// remapCodes replaces every code c by remap[c].
func remapCodes(codes, remap []int32) {
	for i, c := range codes {
		codes[i] = remap[c]
	}
}
