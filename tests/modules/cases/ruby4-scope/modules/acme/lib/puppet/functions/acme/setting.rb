# frozen_string_literal: true

# A module setting from Hiera (by call_function('lookup')), with the node's domain appended
# when it is a bare host name.
Puppet::Functions.create_function(:'acme::setting') do
  dispatch :setting do
    param 'String[1]', :key
  end

  def setting(key)
    value = call_function('lookup', "acme::#{key}")
    return value unless value.is_a?(String) && !value.include?('.')
    "#{value}.#{closure_scope['facts']['networking']['domain']}"
  end
end
