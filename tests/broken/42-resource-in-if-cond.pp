if $x {} {
}
