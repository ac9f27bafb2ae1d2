class acme (
  String $auth_basic = 'Restricted',
  Optional[String] $proxy = undef,
) {
  file { '/etc/nginx/site.conf':
    ensure  => file,
    content => template('acme/server.erb'),
  }
}
