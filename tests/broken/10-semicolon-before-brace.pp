class base {
  include ntp;
}
