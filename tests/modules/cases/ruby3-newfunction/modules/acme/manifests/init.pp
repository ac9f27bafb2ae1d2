class acme (
  String $role = 'web',
) {
  $banner = acme_banner('Managed by Puppet')
  $tagged = acme_banner('Staging', 'extra')
  file { '/etc/motd':
    ensure  => file,
    content => "${banner}\n${tagged}\n",
  }
}
