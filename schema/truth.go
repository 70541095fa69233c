package schema

import "strings"

// TrueUpliftPrefix starts the name of a column holding each row's true
// uplift of one treatment arm over control, as the synthetic generator
// writes it.
const TrueUpliftPrefix = "true_uplift_"

// TrueUpliftColumn names the column holding the true uplift of arm over
// control: TrueUpliftPrefix and the arm in lower case with every character
// other than a-z and 0-9 replaced by '_', e.g. "Mens E-Mail" gives
// "true_uplift_mens_e_mail".
func TrueUpliftColumn(arm string) string {
	var b strings.Builder
	b.WriteString(TrueUpliftPrefix)
	for _, r := range strings.ToLower(arm) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
