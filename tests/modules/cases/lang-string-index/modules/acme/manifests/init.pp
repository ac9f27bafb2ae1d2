class acme (
  Hash $options = { 'option' => ['redispatch', 'httplog'], 'maxconn' => '4000', 'log' => 'global' },
) {
  $s = 'Array[String]'
  notify { "index=${s.index('Array')} mid=${s.index('String')} none=${s.index('Hash')} chars=${index('abcabc', 'c')}": }
  file { '/etc/acme/options':
    ensure  => file,
    content => epp('acme/options.epp', { 'options' => $options }),
  }
}
