class acme {
  $modern = acme::release_at_least('Debian', '12')
  $ancient = acme::release_at_least('Debian', '13')
  $relay = acme::setting('relay')
  $port = acme::setting('port')
  notify { "modern=${modern} ancient=${ancient} relay=${relay} port=${port}": }
  if $modern {
    package { 'acme-modern': ensure => installed }
  }
}
