# Generates /tmp/psych-fixtures/fixtures.json : [{"input": <json value>, "yaml": <to_yaml>}]
require 'yaml'
require 'json'

srand(12345)
cases = []
add = ->(v) { cases << v }

# ---------- short scalars (top level, as value, as key, in seq) ----------
shorts = [
  "", " ", "  ", "foo", "Foo Bar", "a b c", "a  b", "a ", " a", " a ", "\t", "a\tb", "\ta",
  "y", "n", "Y", "N", "yes", "Yes", "YES", "no", "No", "true", "True", "TRUE", "false", "False",
  "on", "On", "off", "OFF", "null", "Null", "NULL", "nUlL", "~", "nil", "none", "yess", "falsey",
  "1", "0", "-1", "+1", "12", "1_000", "1,000", "1__0", "1,,0", "0755", "0o17", "0b1010", "0x1F", "0X1F", "0xg",
  "09", "08.5", "0189", "07", "1.5", "1.", ".5", "-.5", "1.0e+5", "1.0e5", "1e5", "1E5", "1.5E-3", "6.02e+23",
  "1:30", "1:30:45", "1:60", "1:2:3:4", "1:30.5", "12:30:00", "190:20:30",
  ".inf", ".Inf", "-.inf", "+.inf", ".nan", ".NaN", "inf", "nan", "Infinity", "NaN",
  "2001-02-28", "2001-02-30", "2000-02-29", "1900-02-29", "2001-2-3", "2001-00-10", "1582-10-10",
  "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "2001-12-14 21:59:43.10", "2001-12-15T02:59:43.1Z",
  "2001-13-01 00:00:00", "2001-01-01 24:00:00", "2001-01-01 10:60:00",
  ":foo", ":", "::", ":\"x\"", "foo:", "foo:bar", "foo: bar", "foo :bar", "a:b:c", "http://example.com/a?b=c#d",
  "?", "?a", "? a", "-", "--", "---", "----", "-a", "- a", "--- a", "...", "...a", "a...", "a---",
  "#", "#a", "a#b", "a #b", "a# b", "a\t#b", ",", ",a", "a,b", "a, b", "[", "[a]", "a[b]", "{", "{a}", "a{b}", "a}",
  "&a", "a&b", "*a", "a*", "!a", "a!", "!!str", "|", "|a", "a|b", ">", ">a", "a>b", "'", "'a'", "a'b", "it's",
  "\"", "\"a\"", "a\"b", "say \"hi\"", "-\"", "#\"", " \"x\"", "%a", "a%", "@a", "a@b", "`a", "a`", "=", "a=b",
  "<<", "<", "<a>", "\\", "a\\b", "C:\\path\\x", "\\n", "_", "_a", "__init__", "a_b",
  "é", "été", "日本", "日本語 テキスト", "Ⅻ", "²", "½", "ª", "Ⓐ", "‿x", "\u200Dx", "x\u200D", "\u0345x", "٠١٢",
  "😀", "a😀", "x\u00A0y", "\u00A0", "x\u0085y", "\u2028", "x\u2028y", "x\u2029y", "\u007F", "a\u0080b", "\u009F",
  "\uFEFF", "a\uFEFFb", "\uFFFE", "\uFFFF", "\uE000", "\uFFFD", "\uD7FF", "\u0001", "\u0007\u0008\u000B\u000C\u001B",
  "\r", "a\rb", "a\r\nb", "\0", "a\0b", "\n", "\n\n", "\n\n\n", "a\n", "a\n\n", "a\n\n\n", "\na", "\n a", "a\nb", "a\n\nb",
  "a\nb\n", "a\nb\n\n", "a\nb\n\n\n", " a\nb", "  a\n b\n", "a\n b", "a \nb", "a\n \nb", "a\n\tb", "a\nb ", "-\n",
  "-x\n", "x\"\n", "no\n", "yes\n", "a b\n", "a: b\n", "\"\n", "#\n", "😀\n", "a\u2028b\n", "\"a\nb\"", "#a\nb", "- a\n- b\n",
]
shorts.each { |s| add.(s) }
add.({"k" => shorts})
add.(shorts.map { |s| {"v" => s} })
add.(shorts.reject { |s| s.empty? }.each_with_index.map { |s, i| [s, i] }.to_h.merge("" => "empty key"))

# ---------- numbers / bools / nil ----------
nums = [0, 1, -1, 42, -9_223_372_036_854_775_808, 9_223_372_036_854_775_807, 0.0, -0.0, 1.0, 1.5, -2.25, 100.0,
        1e14, 1e15, 1.5e15, 123456789012345.6, 1234567890123456.7, 9999999999999998.0, 12345678901234567.0,
        1e16, 1e20, 6.02e23, 1.7976931348623157e308, 5e-324, 0.001, 0.0001, 0.00001, 0.00012345, 1.5e-7,
        1.0 / 3, 2.0 / 3, 0.1 + 0.2, 3.14159, -1e-10, 1e100]
add.(nums)
nums.each { |n| add.(n) }
add.({"t" => true, "f" => false, "n" => nil, "i" => 1, "fl" => 1.5, "s" => "x"})
[true, false, nil].each { |v| add.(v) }
add.([nil, nil, [nil], {"a" => nil}, [], {}, [[]], [{}], {"x" => []}, {"y" => {}}])

# ---------- containers ----------
add.({}); add.([]); add.([[]]); add.([{}]); add.({"a" => {}}); add.({"a" => []})
add.({"a" => {"b" => {"c" => {"d" => 1}}}})
add.([[[["deep"]]]])
add.([[1, 2], [3, [4, 5]], [[6]]])
add.([{"a" => 1, "b" => 2}, {"c" => [1, 2], "d" => {"e" => nil}}])
add.({"list" => [{"name" => "x", "tags" => ["a", "b"]}, {"name" => "y", "tags" => []}], "map" => {"inner" => [[1], {"z" => 2}]}})
add.([{"a" => [{"b" => [{"c" => "d"}]}]}])
add.({"a" => [[1, {"b" => [2]}]]})

# ---------- keys ----------
keys = ["a", "A b", "yes", "no", "null", "~", "1", "1.5", "-1", "", " ", " lead", "trail ", "a: b", "a:b", "#c", "a #c",
        "-", "- a", "?", "[x]", "x[y]", "{", "&x", "*x", "!x", "|", ">", "'q'", "\"q\"", "\"", "a\"b", "@x", "%x", "`x",
        "<<", "y", "n", "é", "日本", "😀", "a\tb", "a\nb", "a\n", "\n", "line1\nline2\n", "a\rb", "x\u2028y",
        "k" * 128, "k" * 129, "é" * 64, "é" * 65, ("kw " * 43).strip, ("kw " * 50).strip, "2001-02-28", "09", ":sym", "..."]
add.(keys.each_with_index.map { |k, i| [k, i] }.to_h)
add.(keys.map { |k| [k, {"v" => [1, k]}] }.to_h.first(20).to_h)
add.({("q" * 130) => {"a" => 1, "b" => [1, 2]}, ("r" * 130) => [1, [2, 3], {"x" => 1}], ("s" * 130) => nil,
      ("t" * 130) => [], ("u" * 130) => {}, ("v" * 130) => "x\ny", "w\nz" => {"a" => "b"}, "multi\nkey" => ["a"]})
add.([{("long key " * 16) => "v", "k" => "v"}])
add.({"a" => {("long key " * 16) => ("long value " * 12), "lit\nkey" => "lit\nval"}})

# ---------- long strings, folding ----------
def words(n, rng, pool = %w[alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega a an the of to in x yz])
  Array.new(n) { pool[rng.rand(pool.size)] }.join(" ")
end
rng = Random.new(7)
longs = []
[60, 75, 79, 80, 81, 82, 83, 85, 90, 100, 120, 150, 200, 300].each do |len|
  s = ""; s << words(1, rng) << " " while s.size < len
  longs << s[0, len].strip
end
longs << ("x" * 200)
longs << ("x" * 81 + " " + "y" * 5)
longs << ("x" * 80 + " " + "y" * 5)
longs << ("x" * 77 + " " + "y" * 5)
longs << ("x" * 76 + " " + "y" * 5)
longs << ("x" * 73 + " " + "y" * 5)
longs << ("x" * 72 + " " + "y" * 5)
longs << ("x" * 71 + " " + "y" * 5)
longs << ("x" * 90 + "  " + "y" * 5 + " z")
longs << ("x" * 90 + "   " + "y" * 5)
longs << ("abc " * 30).strip
longs << ("abc  " * 30).strip
longs << ("a " * 100).strip
longs << ("日本語 " * 40).strip
longs << ("été plus " * 20).strip
longs << ("word " * 30)                        # trailing space -> single quoted
longs << ("-" + "abc " * 30).strip             # '-' start no space: plain? (psych DQ)
longs << ("- " + "abc " * 30).strip            # DQ
longs << ("@" + "abc " * 30).strip             # DQ
longs << ("@" + "abc  " * 30).strip            # DQ with double spaces -> "\ " continuation
longs << ("@" + "abc   " * 30).strip
longs << ("\t" + "abc " * 30).strip
longs << ("abc\t" * 30)
longs << ("abc " * 20 + "\t" + "def " * 20).strip
longs << ("abc " * 30 + "\"quoted\" " + "def " * 5).strip
longs << ("say \"hi\" " * 20).strip
longs << ("it's " * 30).strip
longs << ("a: b " * 25).strip                    # single quoted due to ': '
longs << ("a #b " * 25).strip
longs << ("yes " * 30).strip
longs << ("1 " * 60).strip
longs << ("😀 x " * 30).strip
longs << ("x 😀 " * 30).strip
longs << ("\\ " * 50).strip
longs << ("\"" + "abc " * 30).strip + "\""
longs << (" " + "abc " * 30).strip
longs << ("abc " * 30)
longs << ("x" * 79 + " a  b  c  d " + "y" * 80 + " z")
longs << ("@" + "x" * 79 + " a  b" + " " * 5 + "c")
longs << ("@" + "x" * 85 + " " + "y" * 90 + " z")
longs << ("@" + "x" * 85 + " ")
longs << ("x" * 85 + " ")
longs << ("x" * 85 + " é")
longs.each { |s| add.(s) }
add.(longs)
add.({"key" => longs})
add.({"a" => {"b" => {"c" => {"d" => longs.first(12)}}}})
add.(longs.first(15).map { |s| {"k" => s, "kk" => [s]} })
add.([[[longs[6], longs[8]]]])
longs.each_slice(7) { |sl| add.({"level1" => {"level2" => sl.each_with_index.map { |s, i| ["key#{i}", s] }.to_h}}) }

# ---------- multi-line ----------
mls = [
  "line one\nline two", "line one\nline two\n", "line one\nline two\n\n", "line one\nline two\n\n\n",
  "\nleading newline", "\n\nleading newlines\n", "  indented first\nsecond", " x\n", "first\n  indented second\n",
  "tab\there\nnext", "trailing space \nnext", "next\ntrailing space ", "a\n \nb", "a\n\n\nb", "a\r\nb\r\n",
  "😀\nx", "é\nü\n", "\"quoted\"\nline", "#comment\nline", "- item\n- item2\n", "key: value\nother: x\n",
  ("long line " * 12).strip + "\n" + ("another long line " * 8).strip,
  ("long line " * 12).strip + "\n" + ("another long line " * 8).strip + "\n",
  ("tab\t" * 20) + "\n" + ("long line " * 12),
  ("w " * 50) + "\nx",
  "a\u2028b\nc", "x\u0085y\nz", "\n", "\n\n", "end\n",
]
mls.each { |s| add.(s) }
add.(mls)
add.({"a" => {"b" => mls.each_with_index.map { |s, i| ["m#{i}", s] }.to_h}})
add.([[mls[0], mls[2]], {"x" => [mls[1], mls[4]]}])
add.({"keep" => "x\n\ny\n\n", "after" => 1})
add.({"keep" => "x\n\ny\n\n", "after" => "c\nd"})
add.({"keep" => "x\n\ny\n\n", "after" => "c\nd\n\n"})
add.(["x\n\ny\n\n", {"q" => 1}])
add.({"a" => ["b\nc\n\n"]})

# ---------- mixed random documents ----------
rng2 = Random.new(99)
atoms = shorts + longs + mls + [1, -5, 2.5, 1e20, true, false, nil]
gen = nil
gen = lambda do |depth|
  r = rng2.rand
  if depth > 3 || r < 0.45
    atoms[rng2.rand(atoms.size)]
  elsif r < 0.7
    Array.new(rng2.rand(4)) { gen.(depth + 1) }
  else
    h = {}
    rng2.rand(4).times { h[atoms.select { |a| a.is_a?(String) }.sample(random: rng2)] = gen.(depth + 1) }
    h
  end
end
40.times { add.({"doc" => gen.(0), "more" => [gen.(1), gen.(1)]}) }

out = []
bad = []
cases.each do |v|
  begin
    y = v.to_yaml
  rescue => e
    bad << [v, e.message]; next
  end
  j = JSON.generate(v)
  raise "json roundtrip mismatch #{v.inspect}" unless JSON.parse(j) == v || v.is_a?(Float) || v.to_s.include?('NaN')
  out << {"input" => v, "yaml" => y}
end
File.write("/tmp/psych-fixtures/fixtures.json", JSON.pretty_generate(out))
warn "fixtures: #{out.size}, errors: #{bad.size}"
bad.each { |b| warn b.inspect }
