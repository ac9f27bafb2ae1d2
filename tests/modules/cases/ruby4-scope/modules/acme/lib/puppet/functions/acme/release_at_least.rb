# frozen_string_literal: true

# Whether the node's OS is the named one at the given major release or newer: reads the
# node's facts from the calling scope, as stdlib's os_version_gte does.
Puppet::Functions.create_function(:'acme::release_at_least') do
  dispatch :check do
    param 'String[1]', :os_name
    param 'String[1]', :major
    return_type 'Boolean'
  end

  def check(os_name, major)
    facts = closure_scope['facts']
    facts['os']['name'] == os_name && Puppet::Util::Package.versioncmp(facts['os']['release']['major'], major) >= 0
  end
end
