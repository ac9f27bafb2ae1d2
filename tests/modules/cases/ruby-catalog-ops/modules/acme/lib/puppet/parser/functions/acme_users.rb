# frozen_string_literal: true

# Declares a user for each entry of a hash, with a site default shell: a 3.x statement
# function that adds resources through function_create_resources.
module Puppet::Parser::Functions
  newfunction(:acme_users, type: :statement, arity: 1) do |args|
    users = args[0]
    raise Puppet::ParseError, 'acme_users(): expects a Hash' unless users.is_a?(Hash)

    function_create_resources(['user', users, { 'shell' => '/bin/bash', 'managehome' => true }])
  end
end
