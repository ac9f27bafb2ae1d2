class foo(String [1] $x) {
}
