# A 3.x function: a class variable through lookupvar, a nested Ruby function and a core
# one through function_*, and the top-level undef argument Puppet turns into ''.
module Puppet::Parser::Functions
  newfunction(:kit_legacy, type: :rvalue, arity: 2) do |args|
    Puppet.warning("kit_legacy called with #{args.inspect}")
    [
      lookupvar('kit::conf::var'),
      function_upcase([args[1]]),
      args[0] == '' ? 'empty' : 'set',
      call_function('kit::fmt', ['nested']),
    ]
  end
end
