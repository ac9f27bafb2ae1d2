class ntp (
  Array[String] $servers = [],
  Optional[Integer[0, 65535]] $port = undef,
  $mode = "${servers}x",
) inherits ntp::params {
  class inner { }
  define helper ($x) { }
  contain ntp::config
}
define app::vhost(String $docroot) {
  file { $docroot: ensure => directory }
}
node 'web01.example.test', /^web\d+$/, default, db01.example.test {
  include role::web
}
function mymod::add(Integer $a, Integer $b = 1) >> Integer {
  $a + $b
}
type Mymod::Port = Integer[1, 65535]
type Mymod::Obj = Object { attributes => { a => Integer } }
type Mymod::Pair = Tuple[String, Integer,]
