class acme (
  Hash $defaults = { 'AddressFamily' => 'inet', 'X11Forwarding' => 'no', 'UsePAM' => 'yes' },
) {
  # As saz-ssh does: the defaults plus one key, then the template deletes keys from it.
  $options = $defaults + { 'KbdInteractiveAuthentication' => 'no' }
  file { '/etc/ssh/sshd_config':
    ensure  => file,
    content => template('acme/sshd.erb'),
  }
}
