class acme (
  Array[String] $words = ['root', 'ops'],
  Float $ratio = 3.14159,
) {
  file { '/etc/acme/users':
    ensure  => file,
    content => template('acme/users.erb'),
  }
}
