class acme (
  Hash[String, Any] $settings = { 'listen' => '0.0.0.0', 'workers' => 4, 'debug' => false, 'peers' => ['a', 'b'] },
) {
  file { '/etc/acme/acme.conf':
    ensure  => file,
    content => acme::render_kv($settings),
  }
  file { '/etc/acme/colon.conf':
    ensure  => file,
    content => acme::render_kv({ 'z' => 1, 'a' => 'x' }, ': '),
  }
}
