# frozen_string_literal: true

module Puppet::Parser::Functions
  newfunction(:acme_wrap, type: :rvalue, doc: 'Wraps a string in brackets.') do |args|
    "[#{args[0]}]"
  end
end
