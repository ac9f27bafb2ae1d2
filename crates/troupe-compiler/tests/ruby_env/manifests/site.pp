node default {
  include kit::conf
  $pairs = kit::each_pair({ 'b' => 2, 'a' => 1 }) |$k, $v| { "${k}=${v}" }
  $count = kit::ensure_pkgs(['curl', 'git'])
  $r = kit::rich()
  notify { 'fmt': message => [kit::fmt('web', 8080), kit::fmt('db')] }
  notify { 'pairs': message => $pairs }
  notify { 'count': message => $count }
  notify { 'rich':
    message => [$r['numbered'][1], $r['secret'] =~ Sensitive, "${r['type']}", $r['holes'], "${r['version']}", $r['default'] == default],
  }
  notify { 'legacy': message => kit_legacy(undef, 'shout') }
  notify { 'strict': message => kit::strict(8140) }
}
kit_setting { 'main:port': value => 8140 }
kit_setting { 'workers': section => 'main', value => 2, comment => 'cores' }
class kit::render($port = 8140) {
  notify { 'erb': message => template('kit/odd.erb') }
}
include kit::render
