class acme (
  String $service = 'https',
  Array[String] $others = ['ssh', 'postgres', 'gopher'],
) {
  $port = acme::port_for($service)
  $fallback = acme::port_for('gopher', 7070)
  $ports = acme::port_for($others)
  file { '/etc/acme/ports':
    ensure  => file,
    content => "main=${port} fallback=${fallback} others=${join($ports, ',')}\n",
  }
  notify { "port ${port}": }
}
