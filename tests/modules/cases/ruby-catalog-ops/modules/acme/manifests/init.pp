class acme {
  package { 'curl': ensure => latest }
  acme::package_once(['curl', 'jq'])
  acme::package_once('rsync')
  acme_users({ 'alice' => { 'uid' => 2001 }, 'bob' => { 'uid' => 2002, 'shell' => '/bin/zsh' } })
}
