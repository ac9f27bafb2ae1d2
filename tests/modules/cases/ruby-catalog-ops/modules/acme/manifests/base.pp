class acme::base {
  file { '/etc/acme': ensure => directory }
}
