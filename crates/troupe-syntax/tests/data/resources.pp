file { '/tmp/a':
  ensure => file,
  mode   => '0644',
}
file { default: mode => '0600'; ['/tmp/b', '/tmp/c']: ensure => file; '/tmp/d': * => $attrs }
@user { 'alice': uid => 1000 }
@@sshkey { $fqdn: key => $k }
File { backup => false }
File['/tmp/a'] { mode +> '0700' }
Resource['file'] { owner => 'root' }
User <| title == 'alice' |>
Sshkey <<| tag == 'x' |>> { ensure => present }
Package['a'] -> Service['b'] ~> Exec['c'] <- File['d'] <~ Notify['e']
class { 'ntp': servers => ['a'] }
exec { 'x': unless => 'test', require => [Package['a']], }
realize(User['alice'])
