# SPDX-License-Identifier: GPL-2.0
# Count test results in the mgpu verdict channel (build/VER/result.log).
#
# Counting rule: only leaf test cases count.  A result line's children
# are the result lines nested one level deeper (indented, or prefixed
# with "# " as kselftest's runner does) that precede it.  A result line
# with children is not counted itself (so a program's own summary line
# is never counted twice), except that a failing parent none of whose
# children failed (a crash, a timeout, a bad exit status after passing
# cases) counts as one failure.  "ok ... # SKIP" is a skip, "not ok ...
# # SKIP" too; everything else "ok" passes and "not ok" fails.
#
# Output: "pass fail skip end" on the first line (end = 1 when the
# MGPU-RESULT-END marker was seen), then "FAIL name" lines.
function depth_of(line,    d, n) {
	d = 0
	for (;;) {
		if (substr(line, 1, 2) == "# ") {
			line = substr(line, 3); d++
		} else if (match(line, /^[ \t]+/)) {
			n = RLENGTH
			line = substr(line, n + 1)
			d += int((n + 3) / 4)
		} else
			break
	}
	rest = line
	return d
}
BEGIN { maxd = 0; end = 0; indmesg = 0 }
{ sub(/\r$/, "") }
/^MGPU-DMESG-BEGIN$/ { indmesg = 1; next }
/^MGPU-DMESG-END$/ { indmesg = 0; next }
/^MGPU-RESULT-END$/ { end = 1; next }
indmesg { next }
{
	d = depth_of($0)
	if (rest !~ /^(not )?ok [0-9]+/)
		next
	failed = (rest ~ /^not ok/)
	skipped = (rest ~ /#[ \t]*[Ss][Kk][Ii][Pp]/)
	name = rest
	sub(/^(not )?ok [0-9]+[ \t]*(- )?/, "", name)
	sub(/[ \t]*#.*$/, "", name)
	if (d + 1 > maxd) maxd = d + 1
	c = d + 1
	if (cnt[c] == 0) {
		cnt[d]++
		if (skipped) skip[d]++
		else if (failed) { fail[d]++; fails[d] = fails[d] "FAIL " name "\n" }
		else pass[d]++
	} else {
		cnt[d] += cnt[c]; pass[d] += pass[c]; skip[d] += skip[c]; fail[d] += fail[c]
		if (fails[c] != "") {
			s = fails[c]; gsub(/FAIL /, "FAIL " name ": ", s); fails[d] = fails[d] s
		}
		if (failed && !skipped && fail[c] == 0) {
			cnt[d]++; fail[d]++; fails[d] = fails[d] "FAIL " name " (" rest ")\n"
		}
	}
	for (i = c; i <= maxd; i++) { cnt[i] = pass[i] = fail[i] = skip[i] = 0; fails[i] = "" }
}
END {
	# Results left without a parent line (the guest died mid-program).
	for (i = maxd; i > 0; i--) {
		cnt[i-1] += cnt[i]; pass[i-1] += pass[i]; fail[i-1] += fail[i]
		skip[i-1] += skip[i]; fails[i-1] = fails[i-1] fails[i]
	}
	print pass[0] + 0, fail[0] + 0, skip[0] + 0, end
	printf "%s", fails[0]
}
