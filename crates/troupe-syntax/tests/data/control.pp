if $x { notice(1) } elsif $y { notice(2) } else { notice(3) }
unless $x { notice(1) } else { }
case $facts['os']['family'] {
  'Debian', 'Ubuntu': { $p = 'apache2' }
  /^Red/: { $p = 'httpd' }
  String, *$others: { }
  default: { fail('unsupported') }
}
$list.each |$i, $v| { notice($v) }
$sum = $list.reduce(0) |$m, $v| { $m + $v }
$r = map($list) |Integer $v| >> String { "${v}" }
include a, b
include c
require d
notice 'hello'
fail("bad ${x}")
contain foo
$x.filter |$v| { $v =~ Integer }.map |$v| { $v * 2 }
with(1) || { 2 }
$t = type($x)
$w = [type, function]
$y = { type => 1, 'k' => [1, 2], }
foo(a => 1, b => 2, 3)
Integer('0x10')
$h = $x.dig('a', 'b').lest || { 'none' }
