node default {
  include acme
}
