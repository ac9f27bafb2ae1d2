node default {
  $langs = ['en', 'pt-BR', 'zh-TW']
  $mixed = ['a', 1, true]
  $h = { 'port' => 80, 'name' => 'web' }
  notify { 'generalized':
    message => [
      String(type($langs, 'generalized')),
      String(type($mixed, 'generalized')),
      String(type($h, 'generalized')),
      String(type('hello', 'generalized')),
      String(type(42, 'generalized')),
      String(type($langs)),
      String(type($langs, 'reduced')),
    ].join(' | '),
  }
}
