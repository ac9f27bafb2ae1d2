class acme {
  package { 'acme': ensure => installed }
}
