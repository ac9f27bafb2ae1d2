# frozen_string_literal: true

# A one-line banner: a title, the node's fqdn and the class's role, joined by Puppet's 4.x join
# (reached through the scope's call_function) and wrapped by the module's other 3.x function
# (function_acme_wrap).
module Puppet::Parser::Functions
  newfunction(:acme_banner, type: :rvalue, arity: -2, doc: <<-DOC
    Returns "[title | fqdn | role]" for the calling class.
  DOC
  ) do |args|
    raise Puppet::ParseError, "acme_banner(): expects 1 or 2 arguments, got #{args.size}" if args.size > 2

    parts = [args[0], lookupvar('::fqdn')]
    role = lookupvar('acme::role')
    parts << role unless role.nil? || role == :undef || role == ''
    parts << args[1] if args[1]
    function_acme_wrap([call_function('join', [parts, ' | '])])
  end
end
