class acme (
  Array $defaults = [['env_reset', undef], ['mail_badpass', undef], ['lecture', false], ['passwd_tries', 3]],
  Array[String] $words = ['root', 'ops'],
  Hash $options = { 'env_reset' => undef, 'lecture' => false, 'passwd_tries' => 3 },
) {
  file { '/etc/sudoers':
    ensure  => file,
    content => template('acme/sudoers.erb'),
  }
}
