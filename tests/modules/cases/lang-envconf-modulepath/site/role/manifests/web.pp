class role::web {
  include acme
  notify { 'role web': }
}
